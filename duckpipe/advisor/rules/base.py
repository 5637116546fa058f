"""What every rule gets: the prices, the time, the project's usage; and shared arithmetic."""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import wraps

from duckpipe.advisor.facts import TableFacts
from duckpipe.advisor.findings import Finding
from duckpipe.advisor.prices import GiB, Prices, Thresholds
from duckpipe.advisor.usage import ProjectUsage

TB = 1024**4


@dataclass(frozen=True)
class Context:
    """The world a rule judges facts in."""

    prices: Prices
    now: float  # seconds since the epoch; rules never read the clock
    usage: ProjectUsage | None = None
    command: tuple[str, ...] = ("duckpipe",)  # how fixes invoke duckpipe, e.g. with -p DIR

    @property
    def th(self) -> Thresholds:
        return self.prices.thresholds

    def scans_per_month(self, facts: TableFacts) -> tuple[int, str]:
        """Full reads of ``facts`` a month, and where that number comes from."""
        if self.usage is not None and self.usage.run_hours_per_month is not None:
            scans = self.usage.scans_of(facts)
            if scans:
                runs = sum(self.usage.model_runs(s.model, 0) for s in scans)
                models = ", ".join(sorted({s.model for s in scans}))
                return runs, f"{runs} reads a month by models {models} (run history)"
        n = self.th.scans_per_month
        return n, f"{n} full reads of the table a month (thresholds.scans_per_month)"

    def duckpipe(self, *args: str) -> str:
        """A duckpipe command line to paste."""
        return shlex.join([*self.command, *args])

    def rebuild(self, facts: TableFacts) -> str:
        """The command that rewrites ``facts`` from its model or source."""
        return self.duckpipe("run", "-s", facts.name, "--full-refresh")

    def table_command(self, verb: str, facts: TableFacts, *args: str) -> str:
        """The ``duckpipe table`` command that acts on ``facts`` (run in the project whose lake
        holds it: the name is the table's path in the lake)."""
        return self.duckpipe("table", verb, facts.name, *args)


LakeRule = Callable[[list[TableFacts], Context], Iterable[Finding]]
TableRule = Callable[[TableFacts, Context], Iterable[Finding]]


def per_table(rule: TableRule) -> LakeRule:
    """Lift a rule over one table to a rule over the lake."""

    @wraps(rule)
    def over_lake(tables: list[TableFacts], ctx: Context) -> Iterator[Finding]:
        for facts in tables:
            yield from rule(facts, ctx)

    return over_lake


def request_usd(ctx: Context, files_before: int, files_after: int, scans: int) -> float:
    """Monthly GET and LIST cost difference of reading fewer files ``scans`` times a month."""
    get = ctx.prices.storage("standard").get_per_1000 / 1000
    lst = ctx.prices.list_per_1000 / 1000
    gets = (files_before - files_after) * ctx.th.requests_per_file_scan * get
    lists = (math.ceil(files_before / 1000) - math.ceil(files_after / 1000)) * lst
    return scans * (gets + lists)


def scan_usd(ctx: Context, nbytes: float, scans: float) -> float:
    """What reading ``nbytes`` ``scans`` times costs at serverless SQL prices."""
    return scans * nbytes / TB * ctx.prices.compute.serverless_per_tb_scanned


def storage_usd(ctx: Context, nbytes: float, storage_class: str = "standard") -> float:
    """Monthly storage cost of ``nbytes`` in ``storage_class``."""
    return nbytes / GiB * ctx.prices.storage(storage_class).gb_month


def files_after_compaction(partition_bytes: Iterable[int], target: int) -> int:
    """Files left when each partition is bin-packed to ``target``-sized files."""
    return sum(max(1, math.ceil(b / target)) for b in partition_bytes)


def duckdb_copy(
    facts: TableFacts,
    target_bytes: int,
    *,
    order_by: str = "",
    partition_by: str | None = None,
    replace: str = "",
) -> str:
    """A DuckDB command that rewrites a plain Parquet folder into ``<folder>_rewritten``."""
    cols = partition_by if partition_by is not None else ", ".join(facts.scheme.names)
    options = ["FORMAT parquet", f"FILE_SIZE_BYTES {target_bytes}"]
    if cols:
        options.insert(1, f"PARTITION_BY ({cols})")
    order = f" ORDER BY {order_by}" if order_by else ""
    hive = ", hive_partitioning = true" if facts.partitioned else ""
    star = f"* REPLACE ({replace})" if replace else "*"
    where = facts.location.replace("'", "''")  # a SQL string literal
    sql = (
        f"COPY (SELECT {star} FROM read_parquet('{where}/**/*.parquet'{hive}){order}) "
        f"TO '{where}_rewritten' ({', '.join(options)})"
    )
    # SQL quotes strings with '...': double quotes read better in a shell when they are safe
    quoted = f'"{sql}"' if not any(c in sql for c in '"$`\\!') else shlex.quote(sql)
    return "duckdb -c " + quoted
