"""Event-time windows over micro-batches, computed in DuckDB.

The state is a buffer of the accepted events whose windows are still open, plus the
watermark ``W = max event time - allowed lateness`` (the max taken per partition, the
watermark following the slowest partition that still has records to read). Each
micro-batch:

1. events with ``event time < W`` are late: they go to the dead letter queue;
2. the rest join the buffer and move ``W`` forward;
3. windows are assigned over the buffer (tumbling, hopping, or per-key sessions);
4. ``append`` (emit on close) emits the windows that closed in this step
   (``window_end <= W``), ``update`` emits every window the batch touched (upserted
   by key and ``window_start`` downstream);
5. events whose every window has closed leave the buffer.

Because late events are decided against ``W`` and sessions are split on gaps of at
least ``gap``, an accepted event can never belong to a window that was already
emitted. That makes restarts exact: reading again from the smallest buffered offset
of each partition, leaving out the offsets the dead letter queue holds, and keeping
the events whose windows are open at the committed ``W`` rebuilds the same buffer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from duckpipe.core.errors import ConfigError
from duckpipe.core.sql import quote, sql_string

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import WindowConfig
    from duckpipe.engine import Engine

MICROS = 1_000_000
_UNIT_MICROS = {"s": MICROS, "ms": 1_000, "us": 1}
_BUFFER = "_dp_window_buffer"
_WINDOWED = "_dp_windowed"


@dataclass
class WindowStep:
    """What one micro-batch produced: results to publish and late events for the DLQ."""

    output: pa.Table
    late: pa.Table
    emitted_windows: int


def _floor(x: str, step: int) -> str:
    """``x`` rounded down to a multiple of ``step`` (also right for negative ``x``)."""
    return f"({x} - ((({x}) % {step}) + {step}) % {step})"


class Windower:
    """Tumbling, hopping or session windows with a watermark and emit-on-close / update."""

    def __init__(
        self,
        engine: Engine,
        window: WindowConfig,
        *,
        key: list[str],
        sql: str | None,
        mode: str,
        where: str,
    ) -> None:
        if window.type == "session" and mode == "update":
            raise ConfigError(
                "session windows are emitted when they close; mode 'update' is not available",
                where=f"{where}.mode",
                hint="use mode: append with a session window, or a tumbling/hopping window",
            )
        self.engine = engine
        self.window = window
        self.key = key
        self.mode = mode
        self.where = where
        self.size = _micros(window.size)
        self.slide = _micros(window.slide)
        self.gap = _micros(window.gap)
        self.lateness = _micros(window.allowed_lateness)
        group = ", ".join([*(quote(k) for k in key), "window_start", "window_end"])
        self.sql = sql or f"select {group}, count(*) as events from windowed group by all"
        self.watermark: int | None = None
        self.event_time: dict[tuple[str, int], int] = {}
        """The newest event time seen per partition (microseconds)."""
        self.engine.execute("set TimeZone = 'UTC'")
        self._buffered = False

    # -- event time --------------------------------------------------------------
    def event_times(self, rows: pa.Table) -> tuple[pa.Table, pa.Table]:
        """``rows`` with ``_event_us`` added, and the rows whose event time is missing/invalid."""
        column = self.window.time_column
        if column not in rows.column_names:
            expr = "null::BIGINT"
        else:
            expr = self._epoch_expr(column, rows.schema.field(column).type)
        self.engine.register("_dp_rows", rows)
        try:
            self.engine.execute(
                f"create or replace temp table _dp_timed as "
                f"select *, {expr} as _event_us from _dp_rows",
                where=self.where,
            )
        finally:
            self.engine.unregister("_dp_rows")
        good = self.engine.arrow("select * from _dp_timed where _event_us is not null")
        reason = sql_string(f"event time column {column!r} is missing, null or not a time")
        bad = self.engine.arrow(
            f"select * exclude (_event_us), {reason} as _reason from _dp_timed "
            "where _event_us is null"
        )
        self.engine.execute("drop table _dp_timed")
        return good, bad

    def _epoch_expr(self, column: str, arrow_type: pa.DataType) -> str:
        import pyarrow as pa

        col = quote(column)
        if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
            return f"epoch_us({col}::TIMESTAMPTZ)"
        if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
            return f"({col} * {_UNIT_MICROS[self.window.time_unit]})::BIGINT"
        if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
            return f"epoch_us(try_cast({col} as TIMESTAMPTZ))"
        raise ConfigError(
            f"event time column {column!r} has type {arrow_type}, not a time",
            where=f"{self.where}.window.time_column",
            hint="use a timestamp, an ISO-8601 string or epoch numbers (set time_unit)",
        )

    # -- the step ----------------------------------------------------------------
    def step(
        self,
        events: pa.Table,
        idle: dict[tuple[str, int], bool] | None = None,
        *,
        hold: bool = False,
        watermark_to: int | None = None,
    ) -> WindowStep:
        """Add ``events`` (with ``_event_us``); return what to publish and the late events.

        ``idle`` maps each assigned partition to whether it is caught up. The watermark
        follows the slowest busy partition (a partition not read yet holds it back);
        when every partition is caught up it follows the newest event. ``hold`` keeps it
        where it is and ``watermark_to`` moves it there instead: re-processing records a
        Kafka transaction already published reproduces that transaction's watermark.
        """
        previous = self.watermark
        self.engine.register("_dp_new", events)
        try:
            late_filter = f"_event_us < {previous}" if previous is not None else "false"
            late = self.engine.arrow(
                f"select * exclude (_event_us), {self._late_reason(previous)} as _reason "
                f"from _dp_new where {late_filter}"
            )
            self._add(f"select *, true as _is_new from _dp_new where not ({late_filter})")
        finally:
            self.engine.unregister("_dp_new")
        newest = self.engine.arrow(
            f"select _topic, _partition, max(_event_us) as m from {_BUFFER} "
            "where _is_new group by all"
        )
        for row in newest.to_pylist():
            tp = (row["_topic"], row["_partition"])
            self.event_time[tp] = max(row["m"], self.event_time.get(tp, row["m"]))
        candidate = watermark_to if watermark_to is not None else self._candidate(idle)
        if hold:
            candidate = None
        if candidate is not None:
            self.watermark = candidate if previous is None else max(previous, candidate)
        self._assign()
        if self.mode == "update":
            chosen = f"_ws in (select _ws from {_WINDOWED} where _is_new)"
        else:
            closed_before = f"_we > {previous}" if previous is not None else "true"
            chosen = f"_we <= {self._watermark_sql()} and {closed_before}"
        output, count = self._emit(chosen)
        self._evict()
        return WindowStep(output, late, count)

    def _candidate(self, idle: dict[tuple[str, int], bool] | None) -> int | None:
        busy = [tp for tp, caught_up in (idle or {}).items() if not caught_up]
        if busy:
            if any(tp not in self.event_time for tp in busy):
                return None
            return min(self.event_time[tp] for tp in busy) - self.lateness
        if not self.event_time:
            return None
        return max(self.event_time.values()) - self.lateness

    def restore(
        self,
        events: pa.Table,
        watermark: int | None,
        event_time: dict[tuple[str, int], int] | None = None,
    ) -> int:
        """Rebuild the buffer from re-read ``events`` (dead-lettered ones already removed)."""
        self.engine.execute(f"drop table if exists {_BUFFER}")
        self._buffered = False
        self.watermark = watermark
        self.event_time = dict(event_time or {})
        if events.num_rows:
            self.engine.register("_dp_new", events)
            try:
                self._add("select *, false as _is_new from _dp_new")
            finally:
                self.engine.unregister("_dp_new")
            self._assign()
            self._evict()
        return self.buffered()

    def buffered(self) -> int:
        if not self._buffered:
            return 0
        return int(self.engine.arrow(f"select count(*) as n from {_BUFFER}").column("n")[0].as_py())

    def replay_from(self) -> dict[str, dict[str, int]]:
        """The smallest buffered offset per topic and partition (where a restart re-reads)."""
        if not self._buffered:
            return {}
        rows = self.engine.arrow(
            f"select _topic, _partition, min(_offset) as o from {_BUFFER} group by all"
        ).to_pylist()
        out: dict[str, dict[str, int]] = {}
        for r in rows:
            out.setdefault(r["_topic"], {})[str(r["_partition"])] = int(r["o"])
        return out

    # -- internals ---------------------------------------------------------------
    def _late_reason(self, previous: int | None) -> str:
        lateness = self.window.allowed_lateness
        return (
            "'late event: event time ' || make_timestamp(_event_us)::VARCHAR || "
            f"' is before the watermark ' || make_timestamp({previous or 0}::BIGINT)::VARCHAR || "
            f"' (allowed lateness {lateness:g}s)'"
        )

    def _watermark_sql(self) -> str:
        return str(self.watermark) if self.watermark is not None else "null"

    def _add(self, select: str) -> None:
        if not self._buffered:
            self.engine.execute(f"create or replace temp table {_BUFFER} as {select}")
            self._buffered = True
            return
        self.engine.execute(
            f"create or replace temp table {_BUFFER} as "
            f"select * replace (false as _is_new) from {_BUFFER} union all by name {select}",
            where=self.where,
        )

    def _assign(self) -> None:
        """``_dp_windowed``: one row per (event, window) with ``_ws``/``_we`` in microseconds."""
        kind = self.window.type
        if kind == "tumbling":
            start = _floor("_event_us", self.size)
            sql = f"select *, {start} as _ws, {start} + {self.size} as _we from {_BUFFER}"
        elif kind == "hopping":
            first = f"{_floor(f'_event_us - {self.size}', self.slide)} // {self.slide} + 1"
            last = f"{_floor('_event_us', self.slide)} // {self.slide}"
            sql = (
                f"select * exclude (_k), _k * {self.slide} as _ws, "
                f"_k * {self.slide} + {self.size} as _we from ("
                f"select *, unnest(range({first}, {last} + 1)) as _k from {_BUFFER})"
            )
        else:
            self._check_key()
            part = f"partition by {', '.join(quote(k) for k in self.key)}" if self.key else ""
            order = "order by _event_us, _topic, _partition, _offset"
            sql = f"""
                select * exclude (_sid),
                    min(_event_us) over (partition by {self._key_list()} _sid) as _ws,
                    max(_event_us) over (partition by {self._key_list()} _sid) + {self.gap} as _we
                from (
                    select *, sum(_starts) over ({part} {order} rows unbounded preceding) as _sid
                    from (
                        select *, case when _event_us - lag(_event_us) over ({part} {order})
                            < {self.gap} then 0 else 1 end as _starts
                        from {_BUFFER}
                    )
                )"""
        self.engine.execute(f"create or replace temp table {_WINDOWED} as {sql}", where=self.where)

    def _key_list(self) -> str:
        return "".join(f"{quote(k)}, " for k in self.key)

    def _check_key(self) -> None:
        columns = (
            self.engine.arrow(f"select * from {_BUFFER} limit 0").column_names
            if self._buffered
            else []
        )
        missing = [k for k in self.key if k not in columns]
        if missing:
            raise ConfigError(
                f"window key column {missing[0]!r} is not in the stream's records",
                where=f"{self.where}.key",
                hint="key: names fields of the message payload (or _key, _partition)",
            )

    def _emit(self, chosen: str) -> tuple[pa.Table, int]:
        self.engine.execute(
            "create or replace temp view windowed as "
            "select * exclude (_ws, _we, _is_new, _event_us), "
            "make_timestamp(_ws)::TIMESTAMPTZ as window_start, "
            "make_timestamp(_we)::TIMESTAMPTZ as window_end, "
            f"make_timestamp(_event_us)::TIMESTAMPTZ as event_time from {_WINDOWED} "
            f"where {chosen}"
        )
        count = self.engine.arrow(
            f"select count(distinct ({self._key_list()} _ws)) as n from {_WINDOWED} where {chosen}"
        )
        output = self.engine.arrow(self.sql, where=f"{self.where}.sql")
        return output, int(count.column("n")[0].as_py())

    def _evict(self) -> None:
        if self.watermark is None:
            return
        open_ = f"_we > {self.watermark}"
        if self.window.type == "session":
            keep = f"select distinct _topic, _partition, _offset from {_WINDOWED} where {open_}"
        else:  # an event stays while any of its windows is open
            keep = (
                f"select _topic, _partition, _offset from {_WINDOWED} "
                f"group by all having max(_we) > {self.watermark}"
            )
        self.engine.execute(
            f"create or replace temp table {_BUFFER} as select * from {_BUFFER} "
            f"semi join ({keep}) k using (_topic, _partition, _offset)",
            where=self.where,
        )


def _micros(seconds: float | None) -> int:
    return round((seconds or 0) * MICROS)
