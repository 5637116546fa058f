"""Real services for tests: PostgreSQL, Apache Kafka and an S3-compatible server.

Each runs as a child process on a free loopback port and is stopped with the process
that started it. Use them through the pytest fixtures in ``tests/conftest.py`` or from
a shell with ``python -m tests.services postgres|kafka|s3``.
"""

from tests.services.kafka import KafkaService, install_kafka
from tests.services.postgres import PostgresService, install_postgres
from tests.services.process import ServiceError, free_port
from tests.services.s3 import S3Service

__all__ = [
    "KafkaService",
    "PostgresService",
    "S3Service",
    "ServiceError",
    "free_port",
    "install_kafka",
    "install_postgres",
]
