"""Alembic's script directory for the tables kept beside the event log (see
:mod:`services.storage.schema`); each branch's revisions live with its capability."""
