"""The ``pg`` fixture (tests/ingest/helpers.py) for these tests."""

from tests.ingest.helpers import pg

__all__ = ["pg"]
