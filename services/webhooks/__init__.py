"""Outbound webhooks: subscriptions (admin), signed deliveries from the log with each
subscription's own tracking, retries with backoff, dead letters and the delivery log."""
