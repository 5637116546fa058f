"""The per-batch landing pipeline and the staging spool.

Batches flow ``source -> contract -> lake types (-> metadata columns) -> spool``; rejected
rows go to the run's dead letters. (A landing adds the constant metadata columns to the
staged table instead, so the spool does not store them once per row.) A reader thread keeps the source busy while the
previous batch is validated and spooled, so extraction overlaps with the rest.

The spool is an uncompressed Arrow IPC file under ``.duckpipe/staging``. Written batch
by batch, it keeps memory bounded by the batch size; memory-mapped, it is the staged
relation the quality gate audits and the replayable data the lake commit reads,
without a copy.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from duckpipe.core.console import Progress
    from duckpipe.ingest.contracts import Contract
    from duckpipe.ingest.dlq import DeadLetters
    from duckpipe.ingest.metadata import MetadataColumns

_DONE = object()


class Transform:
    """Contract, lake types and metadata columns applied to one batch at a time."""

    def __init__(
        self,
        contract: Contract,
        dead_letters: DeadLetters,
        metadata: MetadataColumns | None,
    ) -> None:
        self.contract = contract
        self.dead_letters = dead_letters
        self.metadata = metadata
        self._lake_types: dict[pa.Schema, Any] = {}

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        out = self._lake(self.contract.output_schema(schema)).schema
        return self.metadata.schema(out) if self.metadata is not None else out

    def _lake(self, schema: pa.Schema) -> Any:
        from duckpipe.sinks.lake_types import LakeTypes

        converter = self._lake_types.get(schema)
        if converter is None:
            converter = self._lake_types[schema] = LakeTypes(schema)
        return converter

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if (
            not self.contract.is_trivial
            or self.contract.output_schema(batch.schema) != batch.schema
        ):
            verdict = self.contract.check(batch)
            if verdict.bad is not None:
                self.dead_letters.add(verdict.bad)
            batch = verdict.good
        batch = self._lake(batch.schema)(batch)
        return self.metadata(batch) if self.metadata is not None else batch

    def close(self) -> None:
        for converter in self._lake_types.values():
            converter.close()


def prefetched(reader: pa.RecordBatchReader, depth: int = 2) -> Iterator[pa.RecordBatch]:
    """The batches of ``reader``, read ahead by a thread (at most ``depth`` waiting)."""
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def pump() -> None:
        try:
            for batch in reader:
                while not stop.is_set():
                    try:
                        slots.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put(exc)

    thread = threading.Thread(target=pump, name="duckpipe-extract", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        # the reader may be inside one last batch; its source is closed only after that
        thread.join(timeout=60)


class Spool:
    """Staged batches in an Arrow IPC file; ``table()`` maps it back without copying."""

    @staticmethod
    def run_directory(staging: Path, run_id: str) -> Path:
        """The folder of one run's spools, named ``<run_id>.<host>.<pid>`` after its owner."""
        return staging / f"{run_id}.{_host()}.{os.getpid()}"

    @staticmethod
    def sweep(staging: Path, *, keep: Path, older_than: float = 3600.0) -> None:
        """Remove the spool folders of runs that are gone.

        A folder is another run's while that run lives: it is removed once its owner process
        (named in the folder, on this host) no longer exists, or, when the owner cannot be
        checked (another host, a folder of an older version), once untouched for an hour.
        """
        if not staging.is_dir():
            return
        cutoff = time.time() - older_than
        for run_dir in staging.iterdir():
            if run_dir == keep:
                continue
            try:
                stale = not _owner_alive(run_dir.name) or run_dir.stat().st_mtime < cutoff
            except FileNotFoundError:  # removed by another run meanwhile
                continue
            if stale:
                shutil.rmtree(run_dir, ignore_errors=True)

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "data.arrow"
        self.rows = 0

    def fill(
        self,
        reader: pa.RecordBatchReader,
        transform: Transform,
        progress: Progress | None = None,
    ) -> int:
        """Transform and write every batch of ``reader``; returns the rows written."""
        import pyarrow as pa

        for _ in range(3):  # the run's folder may go between creating it and this spool's
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                break
            except FileNotFoundError:
                continue
        schema = transform.output_schema(reader.schema)
        started = time.perf_counter()
        read = 0
        with pa.OSFile(str(self.path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            for batch in prefetched(reader):
                read += batch.num_rows
                out = transform(batch)
                if out.num_rows:
                    writer.write_batch(out)
                    self.rows += out.num_rows
                if progress is not None:
                    rate = read / max(time.perf_counter() - started, 1e-9)
                    progress.advance(batch.num_rows, rate=f"{rate:,.0f} rows/s")
        return self.rows

    def table(self) -> pa.Table:
        import pyarrow as pa

        return pa.ipc.open_file(pa.memory_map(str(self.path))).read_all()

    def remove(self) -> None:
        """Remove this spool, and its run's folder once no other spool is in it."""
        shutil.rmtree(self.directory, ignore_errors=True)
        with contextlib.suppress(OSError):  # not empty: another source of the run is staging
            self.directory.parent.rmdir()


def _host() -> str:
    return socket.gethostname().replace(".", "_") or "localhost"


def _owner_alive(name: str) -> bool:
    """False when the run folder ``name`` names a process of this host that no longer exists."""
    _, _, owner = name.partition(".")
    host, _, pid = owner.rpartition(".")
    if host != _host() or not pid.isdigit():
        return True  # not ours to judge: left to the age cutoff
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
