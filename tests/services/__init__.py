"""Real services for tests: PostgreSQL, Apache Kafka and an S3-compatible server."""
