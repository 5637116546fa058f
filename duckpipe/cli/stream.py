"""``duckpipe stream NAME``: run a Kafka stream into the lake, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from duckpipe.cli._common import console_for, format_option, project_from
from duckpipe.core import units


def _timestamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        if value.isdigit():  # epoch milliseconds, as Kafka stores them
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is not a time; write ISO-8601 (2024-05-01T12:00:00Z) or epoch milliseconds",
            param_hint="--from-timestamp",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    if value.strip().lower() == "never":
        return 0.0
    try:
        return units.parse_duration(value)
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is not a duration; write {units.DURATION_FORMS}, or never", param=param
        ) from None


@click.command("stream")
@click.argument("name")
@click.option("--once", is_flag=True, help="Process what the topics hold now, commit, and exit.")
@click.option(
    "--from-offset",
    "from_offsets",
    multiple=True,
    metavar="[TOPIC:]P:O",
    help="Replay partition P from offset O (repeatable). Published results are not duplicated.",
)
@click.option(
    "--from-timestamp",
    metavar="TIME",
    help="Replay every partition from TIME (ISO-8601 or epoch ms).",
)
@click.option(
    "--client",
    type=click.Choice(["auto", "confluent-kafka", "kafka-python"]),
    default=None,
    help="Kafka client library (default: the source's client, auto = the fastest installed).",
)
@click.option(
    "--skip-checks", is_flag=True, help="Publish without running the table's quality checks."
)
@click.option(
    "--give-up-after",
    metavar="DURATION",
    callback=_duration,
    help="Fail when the Kafka broker stays unreachable this long (e.g. 2m, or never). "
    "Default: the stream's give_up_after, else 60s with --once and never without.",
)
@format_option
@click.pass_context
def command(
    ctx: click.Context,
    name: str,
    once: bool,
    from_offsets: tuple[str, ...],
    from_timestamp: str | None,
    client: str | None,
    skip_checks: bool,
    give_up_after: float | None,
    fmt: str,
) -> None:
    """Run stream NAME until SIGTERM/Ctrl-C (the current batch is committed first)."""
    from duckpipe.streaming import StreamOptions, run_stream

    if from_offsets and from_timestamp:
        raise click.UsageError("use either --from-offset or --from-timestamp, not both")
    options = StreamOptions(
        once=once,
        from_offsets=from_offsets,
        from_timestamp=_timestamp(from_timestamp),
        client=client,
        skip_checks=skip_checks,
        give_up_after=give_up_after,
    )
    console = console_for(fmt)
    report = run_stream(project_from(ctx), name, options, console=console)
    console.event("stream_finished", **report.__dict__)
    offsets = "; ".join(
        f"{topic}/{part}={offset}"
        for topic, parts in report.offsets.items()
        for part, offset in parts.items()
    )
    console.info(
        f"stream {name} stopped ({report.stopped_by}): {report.records:,} records in "
        f"{report.batches:,} batches, {report.commits:,} commits, "
        f"{report.dead_letters:,} dead letters, {report.seconds:.1f}s; offsets {offsets or '-'}"
    )
