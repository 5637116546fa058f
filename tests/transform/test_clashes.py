"""Two definitions of one table (landed source, stream, seed, model) fail before anything runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DUCKPIPE = [sys.executable, "-m", "duckpipe"]

ORDERS_CSV = "order_id,customer_id\n1,10\n2,10\n3,11\n"
CUSTOMERS_CSV = "customer_id,name\n10,ann\n11,bo\n"


def make(root: Path, config: str, files: dict[str, str]) -> Path:
    """A project on disk with a local lake: ``config`` goes after ``name:`` and ``lake:``."""
    root.mkdir()
    (root / "duckpipe.yml").write_text("name: clash\nlake: ./lake\n" + textwrap.dedent(config))
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body)
    return root


def duckpipe(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DUCKPIPE, "-p", str(root), *args], capture_output=True, text=True, timeout=300
    )


def assert_clash(root: Path, args: tuple[str, ...], *names: str) -> None:
    out = duckpipe(root, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    for name in names:
        assert name in out.stderr, out.stderr
    assert "hint:" in out.stderr
    assert "CatalogException" not in out.stderr
    assert not (root / "lake").exists(), "nothing may land before the clash is reported"


COMMANDS = [("run", "--dry-run"), ("run",), ("compile",), ("query", "select 1")]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_seed_named_like_a_landed_source(tmp_path: Path, args: tuple[str, ...]) -> None:
    root = make(
        tmp_path / "p",
        "sources:\n  customers: {uri: data/customers.csv}\n",
        {"data/customers.csv": CUSTOMERS_CSV, "seeds/raw_customers.csv": CUSTOMERS_CSV},
    )
    assert_clash(
        root,
        args,
        "source 'customers' in duckpipe.yml",
        "seeds/raw_customers.csv",
        "rename seeds/raw_customers.csv",
        "land_as",
    )


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_model_shadowing_a_landed_source(tmp_path: Path, args: tuple[str, ...]) -> None:
    root = make(
        tmp_path / "p",
        "sources:\n  orders: {uri: data/orders.csv}\n",
        {"data/orders.csv": ORDERS_CSV, "models/marts/raw_orders.sql": "select 1 as n\n"},
    )
    assert_clash(
        root,
        args,
        "source 'orders' in duckpipe.yml",
        "'raw_orders'",
        "rename models/marts/raw_orders.sql",
    )


def test_seed_and_model_with_one_name(tmp_path: Path) -> None:
    root = make(
        tmp_path / "p",
        "",
        {"seeds/customers.csv": CUSTOMERS_CSV, "models/Customers.sql": "select 1 as n\n"},
    )
    assert_clash(root, ("run", "--dry-run"), "seeds/customers.csv", "models/Customers.sql")


def test_two_sources_landing_as_one_table(tmp_path: Path) -> None:
    root = make(
        tmp_path / "p",
        """\
        sources:
          orders: {uri: data/orders.csv, land_as: landed}
          customers: {uri: data/customers.csv, land_as: landed}
        """,
        {"data/orders.csv": ORDERS_CSV, "data/customers.csv": CUSTOMERS_CSV},
    )
    assert_clash(
        root,
        ("run", "--dry-run"),
        "source 'orders'",
        "source 'customers'",
        "'landed'",
        "different land_as",
    )


def test_land_as_over_a_model(tmp_path: Path) -> None:
    root = make(
        tmp_path / "p",
        "sources:\n  orders: {uri: data/orders.csv, land_as: orders}\n",
        {"data/orders.csv": ORDERS_CSV, "models/orders.sql": "select * from raw_orders\n"},
    )
    assert_clash(root, ("run", "--dry-run"), "source 'orders'", "models/orders.sql")


def test_source_and_model_may_share_a_name(tmp_path: Path) -> None:
    """A source ``orders`` lands as ``raw_orders``: a model ``orders`` over it is no clash."""
    from deltalake import DeltaTable

    root = make(
        tmp_path / "p",
        "sources:\n  orders: {uri: data/orders.csv}\n",
        {
            "data/orders.csv": ORDERS_CSV,
            "models/orders.sql": "-- materialized: table\nselect * from raw_orders\n",
        },
    )
    out = duckpipe(root, "run")
    assert out.returncode == 0, out.stdout + out.stderr
    out = duckpipe(root, "query", "select count(*) as n from raw_orders", "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['"n"', "3"]
    assert DeltaTable(str(root / "lake" / "raw_orders")).to_pyarrow_table().num_rows == 3
    assert DeltaTable(str(root / "lake" / "orders")).to_pyarrow_table().num_rows == 3
