"""Policies: react to events on the feed by issuing commands, exactly once per event."""
