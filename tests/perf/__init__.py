"""Benchmarks that print figures; not part of the pass/fail suite."""
