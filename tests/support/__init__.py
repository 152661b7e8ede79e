"""Helpers shared by the tests: clocks, sample inputs, store inspection."""
