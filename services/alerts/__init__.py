"""Alerts: who answers for an incident (its owner, the DPO on duty), the escalation ladder
as policy data, and the alarm clock that raises each step once."""
