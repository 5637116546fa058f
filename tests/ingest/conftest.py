from __future__ import annotations

import pytest

from tests.ingest.helpers import Pg


@pytest.fixture
def pg(postgres_service) -> Pg:
    return Pg(postgres_service.uri)
