"""Processes opening a new Iceberg catalog at the same moment all get it."""

from __future__ import annotations

import multiprocessing
from pathlib import Path


def _open(state_dir: str) -> list[str]:
    from duckpipe.sinks.iceberg_catalog import catalog_url, open_catalog

    catalog = open_catalog(state_dir + "/lake", catalog_url(None, Path(state_dir)), {}, "duckpipe")
    return [".".join(ns) for ns in catalog.list_namespaces()]


def test_processes_racing_to_create_the_catalog_and_namespace(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    for round_ in range(3):
        state_dir = tmp_path / f"round{round_}"
        state_dir.mkdir()
        with ctx.Pool(4) as pool:
            namespaces = pool.map(_open, [str(state_dir)] * 4)
        assert namespaces == [["duckpipe"]] * 4
