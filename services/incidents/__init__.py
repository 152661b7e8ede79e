"""Incidents: reporting, correcting, triaging, noting, closing; the board and the timeline."""
