"""PostgreSQL source errors that need no server: configuration and driver error classes."""

from __future__ import annotations

import pytest

from duckpipe.config import SourceConfig
from duckpipe.core.errors import ConfigError, TransientSourceError
from duckpipe.sources.postgres import PostgresSource, source_error


def test_table_and_query_are_mutually_exclusive():
    with pytest.raises(ConfigError, match="exactly one"):
        PostgresSource("s", SourceConfig(uri="postgresql://h/db", table="a", query="SELECT 1"))


class DriverError(Exception):
    """Stands in for the driver's exception: a message, a SQLSTATE and an ADBC status."""

    def __init__(self, message: str, sqlstate: str | None = None, status_code: int = 0):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.status_code = status_code


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (DriverError("FATAL: terminating connection due to administrator command", "57P01"), True),
        (DriverError("could not serialize access", "40001"), True),
        (DriverError("IO: Failed to connect: Connection refused", None, 10), True),
        (DriverError('relation "x" does not exist', "42P01"), False),
        (DriverError("permission denied for table x", "42501"), False),
        (DriverError('password authentication failed for user "u"', "28P01", 10), False),
    ],
)
def test_driver_errors_are_classified(error, transient):
    converted = source_error(error, where="sources.s")
    assert isinstance(converted, TransientSourceError) is transient
    assert str(error) in str(converted)
