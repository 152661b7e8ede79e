"""The breachledger domain: aggregates and the events that record their history.

Everything here is pure: no I/O, no clock reads, no configuration. Commands on aggregates
take the moment and the actor from their caller (see :class:`events.base.Cause`).
"""
