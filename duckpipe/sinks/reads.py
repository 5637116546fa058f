"""See which data files a query really opens.

Datasets built while ``trace_reads()`` is active read through a filesystem that
records every file opened. Tests use it to prove that a partition filter in
``duckpipe query`` prunes files; people can use it to see what a query costs.
Footers read while a Delta dataset is built (``view_types``) are not recorded.

    with trace_reads() as log:
        engine.arrow("select * from orders where order_date = '2024-05-01'")
    log.paths  # the Parquet files the scan opened
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyarrow.fs import FileSystemHandler as pafs_FileSystemHandler

if TYPE_CHECKING:
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs


@dataclass
class ReadLog:
    """Paths opened for reading, in order (a path appears once per open)."""

    paths: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, path: str) -> None:
        with self._lock:
            self.paths.append(path)

    @property
    def files(self) -> set[str]:
        return set(self.paths)


_active: list[ReadLog] = []


@contextmanager
def trace_reads() -> Iterator[ReadLog]:
    """Record the files opened by datasets created inside this block."""
    log = ReadLog()
    _active.append(log)
    try:
        yield log
    finally:
        _active.remove(log)


def traced(dataset: ds.Dataset) -> ds.Dataset:
    """``dataset`` itself, or, while tracing, the same fragments read through a recording filesystem."""
    import pyarrow.dataset as pds
    import pyarrow.fs as pafs

    if not _active or not isinstance(dataset, pds.FileSystemDataset):
        return dataset
    log = _active[-1]
    fs = pafs.PyFileSystem(_RecordingHandler(dataset.filesystem, log))
    fragments = [  # each keeps its own format (read options may differ per file)
        f.format.make_fragment(f.path, filesystem=fs, partition_expression=f.partition_expression)
        for f in dataset.get_fragments()
    ]
    return pds.FileSystemDataset(fragments, dataset.schema, dataset.format, fs)


class _RecordingHandler(pafs_FileSystemHandler):
    """A pyarrow FileSystemHandler that delegates to ``inner`` and records opened files."""

    def __init__(self, inner: pafs.FileSystem, log: ReadLog) -> None:
        self.inner = inner
        self.log = log

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RecordingHandler) and other.inner == self.inner

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def get_type_name(self) -> str:
        return "duckpipe-recording"

    def normalize_path(self, path: str) -> str:
        return path

    def get_file_info(self, paths: list[str]) -> Any:
        return self.inner.get_file_info(paths)

    def get_file_info_selector(self, selector: Any) -> Any:
        return self.inner.get_file_info(selector)

    def open_input_file(self, path: str) -> Any:
        self.log.record(path)
        return self.inner.open_input_file(path)

    def open_input_stream(self, path: str) -> Any:
        self.log.record(path)
        return self.inner.open_input_stream(path)

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise OSError("a traced lake filesystem is read-only")

    create_dir = delete_dir = delete_dir_contents = delete_root_dir_contents = _read_only
    delete_file = move = copy_file = open_output_stream = open_append_stream = _read_only
