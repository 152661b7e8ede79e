"""End-to-end proof of the distributed mode: PostgreSQL, Kafka and worker processes."""
