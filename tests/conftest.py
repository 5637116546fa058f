"""Session-wide fixtures: the real services, started only when a test asks for one.

``postgres_service``, ``kafka_service`` and ``s3_service`` each start their server once
per test session, on a free loopback port, and stop it when the session ends.
``s3_bucket`` is a fresh, empty bucket for each test. A test that uses a service must
carry the service's marker (``@pytest.mark.postgres`` / ``kafka`` / ``s3``) so that
``-m`` selects it correctly; an unmarked one fails with a message saying so. A test may
stop or kill a service; it is started again after the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import KafkaService, PostgresService, S3Service
from tests.services.service import Service

SERVICE_MARKERS = {
    "postgres_service": "postgres",
    "kafka_service": "kafka",
    "s3_service": "s3",
}


@pytest.fixture(scope="session")
def postgres_service() -> Iterator[PostgresService]:
    """A PostgreSQL 15 server; ``.uri`` connects as a superuser over TCP."""
    with PostgresService.launch() as service:
        yield service


@pytest.fixture(scope="session")
def kafka_service() -> Iterator[KafkaService]:
    """A single-node Apache Kafka (KRaft) broker; ``.bootstrap`` is its address."""
    with KafkaService.launch() as service:
        yield service


@pytest.fixture(scope="session")
def s3_service() -> Iterator[S3Service]:
    """A moto S3 server; ``.delta_storage_options()`` / ``.iceberg_properties()``."""
    with S3Service.launch() as service:
        yield service


@pytest.fixture
def s3_bucket(s3_service: S3Service) -> str:
    """The name of a new, empty bucket on ``s3_service``."""
    return s3_service.make_bucket()


def pytest_runtest_setup(item: pytest.Item) -> None:
    fixtures = getattr(item, "fixturenames", ())
    for fixture, marker in SERVICE_MARKERS.items():
        if fixture in fixtures and item.get_closest_marker(marker) is None:
            pytest.fail(
                f"{item.nodeid} uses the {fixture} fixture but is not marked; "
                f"add @pytest.mark.{marker} so that `-m {marker}` selects it",
                pytrace=False,
            )


@pytest.fixture(autouse=True)
def _restart_stopped_services(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test, start again any service the test stopped or killed."""
    yield
    for fixture in SERVICE_MARKERS:
        if fixture in request.fixturenames:
            service: Service = request.getfixturevalue(fixture)
            service.ensure_running()
