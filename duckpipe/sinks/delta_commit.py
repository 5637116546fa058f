"""A duckpipe commit in the Delta log: writer positions, fencing and commit failures.

Every commit duckpipe makes to a Delta table carries commit metadata with the
positions of all writers (``POSITIONS_KEY``), so they survive log clean-up. A commit
made for a writer also adds an app transaction (``txn``: writer id -> sequence
number): two processes that write as the same writer from the same starting point
cannot both commit. Reading a writer's position finds the commit whose metadata
holds the sequence number the table's app transaction is at. delta-rs commit
failures become ``CommitConflict`` (retried, or not when the writer was fenced) and
``SinkError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import CommitConflict, SinkError
from duckpipe.sinks.positions import (
    POSITIONS_KEY,
    StoredPosition,
    decode_map,
    encode_map,
    stale_writer,
)

if TYPE_CHECKING:
    from deltalake import CommitProperties, DeltaTable

    from duckpipe.sinks.base import Position


def commit_properties(dt: DeltaTable | None, position: Position | None) -> CommitProperties:
    """Commit metadata carrying every writer's position forward (and ours, fenced)."""
    return commit_positions(dt, position)[0]


def commit_positions(
    dt: DeltaTable | None,
    position: Position | None,
    known: dict[str, StoredPosition] | None = None,
) -> tuple[CommitProperties, dict[str, StoredPosition]]:
    """``commit_properties`` and the positions it carries. ``known``: the table's positions
    as of ``dt`` (``CommitMemo``), so the log need not be read for them."""
    from deltalake import CommitProperties
    from deltalake.transaction import Transaction

    if known is not None:
        positions = dict(known)
    else:
        positions = _latest_positions(dt) if dt is not None else {}
    txns = []
    if position is not None:
        if known is not None:
            mine = known.get(position.writer_id)
            previous = mine.seq if mine is not None else None
        else:
            previous = dt.transaction_version(position.writer_id) if dt is not None else None
        seq = (previous or 0) + 1
        positions[position.writer_id] = StoredPosition(
            position.writer_id, seq, dict(position.value)
        )
        txns.append(Transaction(position.writer_id, seq))
    metadata = {POSITIONS_KEY: encode_map(positions)} if positions else None
    props = CommitProperties(custom_metadata=metadata, app_transactions=txns or None)
    return props, positions


class CommitMemo:
    """The positions this process's last commit to each table carried.

    While the table is still at that version (and is the same table: its Delta id), they
    are the table's positions, and every writer's sequence number is the one they hold:
    a streaming writer's next position read and next commit need not read the log.
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[Any, int, dict[str, StoredPosition]]] = {}

    def positions(self, table: str, dt: DeltaTable) -> dict[str, StoredPosition] | None:
        last = self._last.get(table)
        if last is None or last[1] != dt.version() or last[0] != dt.metadata().id:
            return None
        return last[2]

    def remember(self, table: str, dt: DeltaTable, positions: dict[str, StoredPosition]) -> None:
        self._last[table] = (dt.metadata().id, dt.version(), positions)

    def forget(self, table: str) -> None:
        self._last.pop(table, None)


def writer_moved(
    dt: DeltaTable, position: Position | None, reopen: Callable[[], DeltaTable]
) -> Callable[[], bool] | None:
    """A check whether another process committed as ``position``'s writer since ``dt``."""
    if position is None:
        return None
    seen = dt.transaction_version(position.writer_id)
    return lambda: reopen().transaction_version(position.writer_id) != seen


def stored_position(
    dt: DeltaTable,
    table: str,
    writer_id: str,
    known: dict[str, StoredPosition] | None = None,
) -> Position | None:
    """The position ``writer_id`` committed last, from the commit metadata of its app
    transaction (or from ``known``, the table's positions as of ``dt``)."""
    if known is not None:
        mine = known.get(writer_id)
        return mine.position() if mine is not None else None
    seq = dt.transaction_version(writer_id)
    if seq is None:
        return None
    for commit in _history_pages(dt):
        stored = decode_map(commit.get(POSITIONS_KEY)).get(writer_id)
        if stored is not None and stored.seq == seq:
            return stored.position()
    raise SinkError(
        f"the position of writer '{writer_id}' (commit {seq}) is no longer in the Delta log "
        f"of table '{table}'",
        where=table,
        hint="the log was cleaned up without a later duckpipe commit; reload the source "
        "with --full-refresh",
    )


def _history_pages(dt: DeltaTable) -> Iterator[dict[str, Any]]:
    """Commits newest first, reading the log in growing pages (most lookups need one)."""
    seen = 0
    for limit in (8, 64, None):
        page = dt.history(limit)
        yield from page[seen:]
        if limit is None or len(page) < limit:
            return
        seen = len(page)


def _latest_positions(dt: DeltaTable) -> dict[str, StoredPosition]:
    for commit in _history_pages(dt):
        if POSITIONS_KEY in commit:
            return decode_map(commit[POSITIONS_KEY])
    return {}


class commit_errors:
    """Map delta-rs commit failures to CommitConflict (retryable or not) and SinkError."""

    def __init__(
        self, table: str, position: Position | None, moved: Callable[[], bool] | None = None
    ) -> None:
        self.table = table
        self.position = position
        self.moved = moved  # did another process commit as our writer meanwhile?

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        from deltalake.exceptions import CommitFailedError, DeltaError, SchemaMismatchError

        if exc is None or isinstance(exc, SinkError):
            return None
        message = str(exc).strip()
        if isinstance(exc, CommitFailedError) or "already exists" in message:
            fenced = "Concurrent transaction" in message or bool(self.moved and self.moved())
            if fenced and self.position is not None:
                raise stale_writer(self.table, self.position.writer_id) from None
            raise CommitConflict(
                f"a concurrent commit to '{self.table}' conflicts with this one: {message.splitlines()[0]}",
                where=self.table,
                hint="the write is retried from the new table version",
            ) from None
        if isinstance(exc, SchemaMismatchError | DeltaError):
            first = message.splitlines()[0]
            raise SinkError(
                f"Delta rejected the write to '{self.table}': {first}",
                where=self.table,
                hint=_hint_for(message),
            ) from None
        return None


def _hint_for(message: str) -> str | None:
    if "failed validation" in message:
        return "rows written with a predicate must match the predicate"
    if "schema" in message.lower():
        return "cast the columns in SQL to the table's types, or write with schema_mode='overwrite'"
    return None
