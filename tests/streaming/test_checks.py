"""A stream's SodaCL gate on each micro-batch, against the real broker and real Delta tables."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from duckpipe.core.console import JsonConsole, NullConsole
from duckpipe.core.errors import ConfigError, QualityError, QualityGateFailed
from duckpipe.project import load_project
from duckpipe.streaming import StreamOptions, run_stream
from tests.streaming.helpers import create_topic, produce, write_project
from tests.streaming.procs import read_topic, run_once

pytestmark = pytest.mark.kafka

MISSING_USER = """
checks for clicks_raw:
  - missing_count(user) = 0
"""


def project(root: Path, bootstrap: str, topic: str, streams: str, checks: str = "") -> Path:
    write_project(
        root,
        f"""
name: gated
format: delta
sources:
  clicks:
    uri: kafka://{bootstrap}
    topics: [{topic}]
    group_id: g-{topic}
streams:
{textwrap.indent(textwrap.dedent(streams), "  ")}
""",
    )
    if checks:
        (root / "checks").mkdir(exist_ok=True)
        (root / "checks" / "clicks.yml").write_text(checks)
    return root


def stream(table: str = "clicks_raw", extra: str = "") -> str:
    return f"""
raw:
  source: clicks
  table: {table}
  max_interval: 0.5s
  max_records: 500
{extra}"""


def once(root: Path, name: str = "raw", console=None, **options) -> object:
    return run_stream(
        load_project(root),
        name,
        StreamOptions(once=True, **options),
        console=console or NullConsole(),
    )


def click(i: int, *, user: str | None = "u", amount: float | None = None) -> dict:
    value = i * 0.5 if amount is None else amount
    return {"id": i, "user": None if user is None else f"{user}{i % 5}", "amount": value}


def rows(root: Path, table: str) -> list[dict]:
    return load_project(root).open_lake().dataset(table).to_table().to_pylist()


def stored(root: Path, table: str = "clicks_raw", writer: str = "stream:raw") -> tuple:
    lake = load_project(root).open_lake()
    position = lake.read_position(table, writer)
    return lake.version(table), position.value["offsets"] if position else None


@pytest.fixture
def topic(kafka_service) -> str:
    name = f"gate-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_service.bootstrap, name, partitions=2)
    return name


def test_a_failing_check_stops_the_batch_uncommitted_until_the_check_is_fixed(
    kafka_service, topic, tmp_path
):
    boot = kafka_service.bootstrap
    root = project(tmp_path / "p", boot, topic, stream(), MISSING_USER)
    produce(boot, topic, [(i % 2, click(i)) for i in range(20)])
    once(root)
    before = stored(root)
    assert before[1] == {topic: {"0": 10, "1": 10}}

    produce(boot, topic, [(i % 2, click(i, user=None if i == 25 else "u")) for i in range(20, 30)])
    failed = run_once(root, "raw")
    assert failed.returncode == 1, failed.stderr
    error = failed.stderr.strip().splitlines()
    assert len(error) == 1
    assert error[0].startswith("error: checks/clicks.yml:3: stream 'raw': 1 failing check on ")
    assert "dataset 'clicks_raw'" in error[0]
    assert "missing_count(user) = 0 failed: value 1" in error[0]
    assert f"offsets {topic}/0:10-14, {topic}/1:10-14" in error[0]
    assert "on_check_failure: dlq" in error[0]
    # nothing of the batch is in the lake: same version, same stored position, same rows
    assert stored(root) == before
    assert sorted(r["id"] for r in rows(root, "clicks_raw")) == list(range(20))
    with pytest.raises(QualityGateFailed):  # a restart re-reads the same batch and stops again
        once(root)
    assert stored(root) == before

    (root / "checks" / "clicks.yml").write_text(MISSING_USER.replace("= 0", "< 2"))
    once(root)
    version, offsets = stored(root)
    assert version == before[0] + 1 and offsets == {topic: {"0": 15, "1": 15}}
    published = rows(root, "clicks_raw")
    assert sorted(r["id"] for r in published) == list(range(30))
    assert [r["id"] for r in published if r["user"] is None] == [25]


DLQ_CHECKS = """
checks for clicks_raw:
  - missing_count(user) = 0
  - invalid_count(amount) = 0:
      valid min: 0
  - values in (user) must exist in users (name)
"""


def test_dlq_sends_failing_rows_to_the_dlq_and_commits_the_rest_exactly_once(
    kafka_service, topic, tmp_path
):
    boot = kafka_service.bootstrap
    dlq_topic = f"{topic}-dlq"
    create_topic(boot, dlq_topic)
    extra = f"  on_check_failure: dlq\n  dlq_topic: {dlq_topic}\n"
    root = project(tmp_path / "p", boot, topic, stream(extra=extra), DLQ_CHECKS)
    users = pa.table({"name": [f"u{i}" for i in range(5)]})
    load_project(root).open_lake().write("users", users, mode="overwrite")

    def bad(i: int) -> dict:
        if i % 10 == 3:
            return click(i, user=None)
        if i % 10 == 5:
            return click(i, user="x")  # not a known user
        if i % 10 == 7:
            return click(i, user=None, amount=-1.0)  # fails both checks
        return click(i, amount=-2.0) if i % 10 == 8 else click(i)

    produce(boot, topic, [(i % 2, bad(i)) for i in range(40)] + [(0, b"{poison")])
    report = once(root)
    assert report.dead_letters == 17  # 4 rows each of ids ending in 3, 5, 7, 8; 1 undecodable
    good = [i for i in range(40) if i % 10 not in (3, 5, 7, 8)]
    assert sorted(r["id"] for r in rows(root, "clicks_raw")) == good

    dead = {r["_offset"] + 1000 * r["_partition"]: r for r in rows(root, "_dlq/raw")}
    assert len(dead) == 17
    checked = [r for r in dead.values() if r["raw"] != "{poison"]
    by_id = {json.loads(r["raw"])["id"]: r["reason"] for r in checked}
    missing = "check 'missing_count(user) = 0' failed (checks/clicks.yml:3)"
    invalid = "check 'invalid_count(amount) = 0' failed (checks/clicks.yml:4)"
    unknown = "check 'values in (user) must exist in users (name)' failed (checks/clicks.yml:6)"
    assert by_id[3] == missing and by_id[8] == invalid and by_id[5] == unknown
    assert by_id[7] == f"{missing}; {invalid}"
    assert sorted(by_id) == [i for i in range(40) if i % 10 in (3, 5, 7, 8)]
    assert [r["reason"] for r in dead.values() if r["raw"] == "{poison"] == [
        "the value is not valid JSON"
    ]
    # every offset once: published or dead-lettered, and the stored position covers all
    published = {r["_offset"] + 1000 * r["_partition"] for r in rows(root, "clicks_raw")}
    assert not published & set(dead)
    assert len(published) + len(dead) == 41
    assert stored(root)[1] == {topic: {"0": 21, "1": 20}}
    on_topic = read_topic(boot, dlq_topic).to_pylist()
    reasons = [
        h["value"].decode()
        for m in on_topic
        for h in m["_headers"]
        if h["key"] == "duckpipe.reason"
    ]
    assert sorted(reasons).count(missing) == 4 and len(on_topic) == 17

    produce(boot, topic, [(0, click(100)), (1, click(101, user=None))])
    again = once(root)
    assert again.dead_letters == 1
    assert sorted(r["id"] for r in rows(root, "clicks_raw")) == [*good, 100]
    assert len(rows(root, "_dlq/raw")) == 18
    assert len(read_topic(boot, dlq_topic)) == 18
    assert stored(root)[1] == {topic: {"0": 22, "1": 21}}


def test_dlq_falls_back_to_stop_for_a_check_that_identifies_no_rows(kafka_service, topic, tmp_path):
    boot = kafka_service.bootstrap
    checks = "checks for clicks_raw:\n  - row_count > 1000\n"
    root = project(tmp_path / "p", boot, topic, stream(extra="  on_check_failure: dlq\n"), checks)
    produce(boot, topic, [(i % 2, click(i)) for i in range(10)])
    console = io.StringIO()
    with pytest.raises(QualityGateFailed) as err:
        once(root, console=JsonConsole(console))
    message = str(err.value)
    assert "row_count > 1000 failed: value 10" in message
    assert "cannot go to the DLQ: 'row_count > 1000' does not identify failing rows" in message
    assert not load_project(root).open_lake().exists("clicks_raw")
    warnings = [
        e["message"]
        for e in map(json.loads, console.getvalue().splitlines())
        if e["event"] == "warning"
    ]
    assert any(
        "is checked on each micro-batch" in w and "checks/clicks.yml:2" in w for w in warnings
    )


def test_dlq_is_refused_for_a_windowed_stream(kafka_service, topic, tmp_path):
    window = """  window: {type: tumbling, size: 1m, time_column: ts}
  on_check_failure: dlq
  sql: select window_start, count(*) as n from windowed group by all
"""
    checks = "checks for per_minute:\n  - missing_count(n) = 0\n"
    root = project(
        tmp_path / "p", kafka_service.bootstrap, topic, stream("per_minute", window), checks
    )
    with pytest.raises(ConfigError) as err:
        once(root)
    assert "streams.raw.on_check_failure" in str(err.value) and "windowed" in str(err.value)


def test_a_warn_check_never_blocks_and_is_reported(kafka_service, topic, tmp_path):
    boot = kafka_service.bootstrap
    checks = "checks for clicks_raw:\n  - max(amount):\n      warn: when > 5\n"
    root = project(tmp_path / "p", boot, topic, stream(), checks)
    produce(boot, topic, [(i % 2, click(i)) for i in range(30)])
    output = io.StringIO()
    report = once(root, console=JsonConsole(output))
    assert report.dead_letters == 0
    assert sorted(r["id"] for r in rows(root, "clicks_raw")) == list(range(30))
    events = [json.loads(line) for line in output.getvalue().splitlines()]
    checks_seen = [e for e in events if e["event"] == "check"]
    assert checks_seen and all(e["outcome"] == "warn" and e["stream"] == "raw" for e in checks_seen)
    assert checks_seen[-1]["value"] == 14.5
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert warnings == [
        "stream raw: clicks_raw: max(amount) warn when > 5 warned: value 14.5 (warn when > 5) "
        "(checks/clicks.yml:2; warned on 1 of 1 batches)"
    ]


PROBE = """
import sys
from duckpipe.core.console import NullConsole
from duckpipe.project import load_project
from duckpipe.streaming import StreamOptions, run_stream

root = sys.argv[1]
run_stream(load_project(root), "plain", StreamOptions(once=True), console=NullConsole())
run_stream(load_project(root), "gated", StreamOptions(once=True, skip_checks=True),
           console=NullConsole())
print("without", sorted(m for m in sys.modules if m.split(".")[0] == "soda"))
run_stream(load_project(root), "gated", StreamOptions(once=True), console=NullConsole())
print("with", "soda.scan" in sys.modules)
"""


def test_a_stream_without_checks_never_imports_soda(kafka_service, topic, tmp_path):
    boot = kafka_service.bootstrap
    streams = """
plain:
  source: clicks
  table: clicks_plain
  max_interval: 0.5s
gated:
  source: clicks
  table: clicks_gated
  max_interval: 0.5s
"""
    checks = "checks for clicks_gated:\n  - missing_count(id) = 0\n"
    root = project(tmp_path / "p", boot, topic, streams, checks)
    produce(boot, topic, [(i % 2, click(i)) for i in range(10)])
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == ["without []", "with True"]
    assert len(rows(root, "clicks_plain")) == len(rows(root, "clicks_gated")) == 10


def test_broken_checks_stop_the_stream_with_the_file_and_line(kafka_service, topic, tmp_path):
    boot = kafka_service.bootstrap
    checks = tmp_path / "p" / "checks" / "clicks.yml"
    root = project(
        tmp_path / "p", boot, topic, stream(), "checks for clicks_raw:\n  - row_count >\n"
    )
    with pytest.raises(QualityError) as err:  # parsed when the stream opens: the topic is empty
        once(root)
    assert err.value.where == "checks/clicks.yml:2"
    assert 'SodaCL syntax error: Invalid check "row_count >"' in str(err.value)

    produce(boot, topic, [(i % 2, click(i)) for i in range(10)])
    checks.write_text("checks for clicks_raw:\n  - row_count > 0\n  - missing_cont(user) = 0\n")
    with pytest.raises(QualityError) as err:  # an unknown metric or column: on the first batch
        once(root)
    assert err.value.where == "checks/clicks.yml:3"
    assert "unknown check type 'missing_cont'" in str(err.value)
    assert "did you mean 'missing_count'" in str(err.value)

    checks.write_text(MISSING_USER.replace("(user)", "(usr)"))
    with pytest.raises(QualityError) as err:
        once(root)
    assert err.value.where == "checks/clicks.yml:3"
    assert "unknown column 'usr' in dataset 'clicks_raw'" in str(err.value)
    assert not load_project(root).open_lake().exists("clicks_raw")
