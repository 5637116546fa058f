"""Apache Kafka as a Source (``kafka://host:port``): topics or a pattern, read_committed.

Records become Arrow rows with the payload's fields (``value_format: json``) or the raw
``value`` (``bytes``), plus ``_topic``, ``_partition``, ``_offset``, ``_timestamp``,
``_key`` and ``_headers``. The position is the next offset per partition. ``extract``
reads what is committed in the topics when it starts and stops there (a bounded read);
``duckpipe stream`` uses the same pieces for the long-running, exactly-once loop.

>>> from duckpipe.config import SourceConfig
>>> src = KafkaSource("clicks", SourceConfig(uri="kafka://127.0.0.1:9092", topics=["clicks"]))
>>> src.plan({"offsets": {"clicks": {"0": 42}}}).description
'clicks (clicks/0 from offset 42, new partitions from the beginning)'
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from duckpipe.core.errors import SourceError
from duckpipe.kafka.positions import flatten, nest
from duckpipe.kafka.settings import kafka_settings
from duckpipe.sources.base import Extraction, ExtractRange

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.config import SourceConfig
    from duckpipe.kafka.client import Consumer
    from duckpipe.kafka.positions import Offsets


class KafkaSource:
    """A bounded read of Kafka topics from a stored position to what is committed now."""

    def __init__(self, name: str, cfg: SourceConfig) -> None:
        self.name = name
        self.cfg = cfg
        self.settings = kafka_settings(cfg, name=name, max_poll_records=cfg.batch_size)

    def plan(self, position: dict[str, Any] | None, *, full_refresh: bool = False) -> ExtractRange:
        start = None if full_refresh else flatten((position or {}).get("offsets"))
        what = self.settings.describe().rsplit(" on ", 1)[0]
        if not start:
            return ExtractRange(self.name, None, f"{what} (from the beginning)", full_refresh)
        parts = ", ".join(f"{t}/{p} from offset {o}" for (t, p), o in sorted(start.items()))
        return ExtractRange(
            self.name,
            position,
            f"{what} ({parts}, new partitions from the beginning)",
            details={"offsets": nest(start)},
        )

    def extract(self, extract_range: ExtractRange) -> Extraction:
        """Read from the range's offsets up to the last stable offsets at the time of the call.

        The records are decoded together so that every batch has one schema (JSON fields
        seen anywhere in the range); memory holds the range's raw records once.
        """
        import pyarrow as pa

        from duckpipe.kafka.backends import open_consumer
        from duckpipe.kafka.positions import BEGINNING
        from duckpipe.kafka.records import raw_schema

        consumer = open_consumer(self.settings, self.cfg.client)
        try:
            stored = flatten(extract_range.details.get("offsets"))
            partitions = consumer.partitions()
            starts = {tp: stored.get(tp, BEGINNING) for tp in partitions}
            ends = consumer.end_offsets(partitions)
            consumer.assign(starts)
            reached: Offsets = {tp: o for tp, o in starts.items() if o >= 0}
            chunks = list(_read_until(consumer, ends, reached, self.cfg.batch_size))
        finally:
            consumer.close()
        raw = pa.concat_tables(chunks) if chunks else raw_schema().empty_table()
        table = self._decode(raw)
        reader = pa.RecordBatchReader.from_batches(
            table.schema, table.to_batches(max_chunksize=self.cfg.batch_size)
        )
        return Extraction(reader, lambda: {"offsets": nest(reached)})

    def _decode(self, raw: pa.Table) -> pa.Table:
        from duckpipe.config import ContractConfig
        from duckpipe.engine import Engine
        from duckpipe.kafka.decode import JsonDecoder

        if self.cfg.value_format == "bytes":
            names = ["value" if n == "_value" else n for n in raw.column_names]
            return raw.rename_columns(names)
        engine = Engine()
        try:
            decoded = JsonDecoder(engine, ContractConfig(), where=f"sources.{self.name}").decode(
                raw
            )
        finally:
            engine.close()
        if decoded.rejects.num_rows:
            bad = decoded.rejects.slice(0, 1).to_pylist()[0]
            raise SourceError(
                f"{decoded.rejects.num_rows} message(s) cannot be decoded: {bad['_reason']}",
                where=f"topic {bad['_topic']} partition {bad['_partition']} offset {bad['_offset']}",
                hint="use value_format: bytes, or `duckpipe stream`, which dead-letters them",
            )
        return decoded.rows.drop_columns(["_value"])


def _read_until(
    consumer: Consumer, ends: Offsets, reached: Offsets, batch_size: int
) -> Iterator[pa.Table]:
    """Poll until every partition's position reaches its end offset."""
    while any(reached.get(tp, -1) < end for tp, end in ends.items() if end > 0):
        chunk = consumer.poll(batch_size, 1.0)
        for tp in ends:
            position = consumer.position(tp)
            if position is not None:
                reached[tp] = position
        if chunk is not None:
            yield chunk
