"""The baseline: the SQL duckpipe compiled, run by a plain DuckDB script.

Views are created as views; tables are created as DuckDB tables and, with ``--lake``,
also written to Delta with ``deltalake.write_deltalake`` (the same outputs duckpipe
produces). The manifest lists the models in order with their materialization.

    python benchmarks/models/plain_duckdb.py MANIFEST.json [--lake DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def run_plain(manifest: list[dict[str, str]], lake: Path | None) -> None:
    """Execute each model's compiled SQL in one DuckDB connection, in order."""
    import duckdb

    con = duckdb.connect()
    for model in manifest:
        name, sql = model["name"], Path(model["compiled"]).read_text()
        if model["materialized"] == "view":
            con.execute(f'create view "{name}" as {sql}')
            continue
        con.execute(f'create table "{name}" as {sql}')
        if lake is not None:
            from deltalake import write_deltalake

            data = con.sql(f'select * from "{name}"').to_arrow_table()
            write_deltalake(str(lake / name), data, mode="overwrite")
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--lake", type=Path, default=None)
    args = parser.parse_args()
    run_plain(json.loads(args.manifest.read_text()), args.lake)


if __name__ == "__main__":
    main()
