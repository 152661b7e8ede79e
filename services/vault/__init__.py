"""The personal-data vault: per-person keys kept apart from the events, sealing, lookups."""
