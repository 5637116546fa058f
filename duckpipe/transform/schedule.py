"""Build independent models at the same time (``models.concurrency`` in duckpipe.yml).

Steps that are not models (sources, seeds) run first, in order. Then each model starts
as soon as the models it reads have finished, on a worker thread with its own DuckDB
connection to the run's database; what a model registers (its published table) is
registered on the run's connection before the models that read it start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duckpipe.core.history import StepRecord
    from duckpipe.engine import Engine
    from duckpipe.plan import Step
    from duckpipe.runner import RunContext

Execute = Callable[["RunContext", "Step"], "StepRecord"]


def run_concurrently(
    ctx: RunContext, steps: Sequence[Step], execute: Execute, workers: int
) -> list[StepRecord]:
    """Execute ``steps`` (in plan order) with up to ``workers`` models building at once.

    Returns the records in plan order.
    """
    records: dict[int, StepRecord] = {}
    models = [i for i, step in enumerate(steps) if step.kind == "model"]
    for i, step in enumerate(steps):
        if step.kind != "model":
            records[i] = execute(ctx, step)
    index = {steps[i].name: i for i in models}
    lock = threading.Lock()

    def build(i: int) -> StepRecord:
        with lock:
            fork = ctx.engine.cursor()
        before = fork.registered()
        try:
            return execute(replace(ctx, engine=fork, checks=[]), steps[i])
        finally:
            with lock:
                _merge_back(ctx.engine, before, fork.registered())
                fork.con.close()

    waiting = list(models)
    running: dict[Future[StepRecord], int] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="duckpipe-model") as pool:
        while waiting or running:
            for i in list(waiting):
                if len(running) >= workers:
                    break
                upstream = [index[d] for d in getattr(steps[i], "depends_on", ()) if d in index]
                if all(u in records for u in upstream):
                    waiting.remove(i)
                    running[pool.submit(build, i)] = i
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                records[running.pop(future)] = future.result()
    return [records[i] for i in range(len(steps))]


def _merge_back(engine: Engine, before: dict[str, object], after: dict[str, object]) -> None:
    """Register on ``engine`` what a worker registered, and drop what it unregistered."""
    for name, data in after.items():
        if before.get(name) is not data:
            engine.register(name, data)
    for name in before.keys() - after.keys():
        engine.unregister(name)
