"""Partition and sort specs as users write them: ``order_date``, ``day(ts)``, ``bucket(16, id)``.

>>> parse_partition("bucket(16, customer_id)")
PartitionTerm(column='customer_id', transform='bucket', param=16)
>>> parse_partition("order_date").name
'order_date'
>>> parse_sort("ts desc nulls last")
SortTerm(column='ts', descending=True, nulls_first=False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from duckpipe.core.errors import SinkError

if TYPE_CHECKING:
    import pyarrow as pa

TRANSFORMS = ("identity", "year", "month", "day", "hour", "bucket", "truncate")
_CALL = re.compile(r"^\s*(?P<fn>\w+)\s*\(\s*(?:(?P<param>\d+)\s*,\s*)?(?P<col>[\w.]+)\s*\)\s*$")
_PLAIN = re.compile(r"^\s*[\w.]+\s*$")


@dataclass(frozen=True)
class PartitionTerm:
    """One partition field: a source column and a transform (``identity`` for plain columns)."""

    column: str
    transform: str = "identity"
    param: int | None = None

    @property
    def name(self) -> str:
        """The partition field's name (Iceberg convention: ``ts_day``, ``id_bucket_16``)."""
        if self.transform == "identity":
            return self.column
        if self.param is not None:
            short = "trunc" if self.transform == "truncate" else self.transform
            return f"{self.column}_{short}_{self.param}"
        return f"{self.column}_{self.transform}"

    def __str__(self) -> str:
        if self.transform == "identity":
            return self.column
        if self.param is not None:
            return f"{self.transform}({self.param}, {self.column})"
        return f"{self.transform}({self.column})"


@dataclass(frozen=True)
class SortTerm:
    """One sort field of a table's sort order."""

    column: str
    descending: bool = False
    nulls_first: bool | None = None

    def __str__(self) -> str:
        text = self.column + (" desc" if self.descending else "")
        if self.nulls_first is not None:
            text += " nulls first" if self.nulls_first else " nulls last"
        return text


def parse_partition(spec: str) -> PartitionTerm:
    """Parse one partition spec; a clear error names what is wrong."""
    if _PLAIN.match(spec):
        return PartitionTerm(spec.strip())
    match = _CALL.match(spec)
    if not match or match["fn"].lower() not in TRANSFORMS:
        raise SinkError(
            f"cannot read the partition spec '{spec}'",
            where="partition_by",
            hint="use a column name or one of year(col), month(col), day(col), hour(col), "
            "bucket(N, col), truncate(W, col)",
        )
    fn = match["fn"].lower()
    param = int(match["param"]) if match["param"] else None
    if fn in ("bucket", "truncate") and param is None:
        raise SinkError(
            f"partition transform {fn} needs a width: {fn}(N, {match['col']})",
            where="partition_by",
        )
    if fn not in ("bucket", "truncate") and param is not None:
        raise SinkError(f"partition transform {fn} takes only a column", where="partition_by")
    return PartitionTerm(match["col"], fn, param)


def parse_partitions(specs: list[str] | None) -> list[PartitionTerm]:
    return [parse_partition(s) for s in specs or []]


def parse_sort(spec: str) -> SortTerm:
    """Parse ``col [asc|desc] [nulls first|last]``."""
    words = spec.split()
    if not words:
        raise SinkError("empty sort spec", where="sort_by")
    column, rest = words[0], [w.lower() for w in words[1:]]
    descending = False
    nulls_first: bool | None = None
    if rest and rest[0] in ("asc", "desc"):
        descending = rest.pop(0) == "desc"
    if rest[:1] == ["nulls"] and len(rest) == 2 and rest[1] in ("first", "last"):
        nulls_first = rest[1] == "first"
        rest = []
    if rest:
        raise SinkError(
            f"cannot read the sort spec '{spec}'",
            where="sort_by",
            hint="write 'column [asc|desc] [nulls first|last]'",
        )
    return SortTerm(column, descending, nulls_first)


def parse_sorts(specs: list[str] | None) -> list[SortTerm]:
    return [parse_sort(s) for s in specs or []]


def check_columns(
    terms: list[PartitionTerm] | list[SortTerm], columns: list[str], table: str
) -> None:
    """Every term's column must exist in the table."""
    from duckpipe.core.errors import did_you_mean

    for term in terms:
        if term.column not in columns:
            raise SinkError(
                f"column '{term.column}' does not exist in table '{table}'",
                where=f"{table}.{term.column}",
                hint=did_you_mean(term.column, columns) or f"columns: {', '.join(columns)}",
            )


def sort_table(data: pa.Table, sorts: list[SortTerm]) -> pa.Table:
    """``data`` sorted by ``sorts``; unchanged when there are none (nulls last unless asked)."""
    if not sorts:
        return data
    keys = [
        (
            s.column,
            "descending" if s.descending else "ascending",
            "at_start" if s.nulls_first else "at_end",
        )
        for s in sorts
    ]
    return data.sort_by(keys)
