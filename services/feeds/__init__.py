"""Feeds: ordered streams of ``(position, event)`` that projections, policies and the
dispatcher consume, whatever carries the events (the store's log, or a Kafka topic)."""
