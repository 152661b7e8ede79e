"""Containment: tasks, playbooks that open them, and containment reached."""
