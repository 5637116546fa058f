"""Reading checks files: which dataset each section is for, where each check is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from duckpipe.core.errors import QualityError
from duckpipe.quality.sodacl import ChecksSuite, load_checks, parse_checks

SHOP = """\
checks for orders:
  - row_count > 0
  - invalid_count(status) = 0:
      valid values: [placed, shipped]

filter orders [recent]:
  where: order_date > '2024-01-01'

checks for customers:
  - missing_count(email) = 0
"""


def test_sections_checks_and_lines_are_found() -> None:
    file = parse_checks(SHOP, "checks/shop.yml")
    assert file.datasets() == ["customers", "orders"]
    orders = [b for b in file.blocks if b.dataset == "orders"]
    assert [(b.kind, b.line, b.end) for b in orders] == [("checks for", 1, 5), ("filter", 6, 8)]
    assert [(c.text, c.line) for c in orders[0].checks] == [
        ("row_count > 0", 2),
        ("invalid_count(status) = 0", 3),
    ]


def test_one_datasets_text_keeps_the_files_line_numbers() -> None:
    file = parse_checks(SHOP, "checks/shop.yml")
    text = file.sodacl_for("customers").splitlines()
    assert text[8:10] == ["checks for customers:", "  - missing_count(email) = 0"]
    assert all(line == "" for line in text[:8])
    orders = file.sodacl_for("orders").splitlines()
    assert orders[5] == "filter orders [recent]:" and orders[8] == ""


def test_unknown_dataset_names_the_line_and_suggests_a_name() -> None:
    suite = ChecksSuite((parse_checks(SHOP.replace("customers:", "custmers:"), "checks/shop.yml"),))
    with pytest.raises(QualityError) as err:
        suite.check_validity({"orders", "customers"})
    assert err.value.where == "checks/shop.yml:9"
    assert "unknown dataset 'custmers'" in err.value.message
    assert err.value.hint == "did you mean 'customers'?"


@pytest.mark.parametrize(
    ("text", "where", "message", "hint"),
    [
        (
            "checks for orders:\n  - row_count > 0\n  - missing_count(id = 0\n   bad: [\n",
            "checks/x.yml:4",
            "SodaCL syntax error",
            "checks files are YAML",
        ),
        (
            "chekcs for orders:\n  - row_count > 0\n",
            "checks/x.yml:1",
            "invalid section header",
            "did you mean 'checks for'?",
        ),
        (
            "for each dataset T:\n  datasets: [a]\n",
            "checks/x.yml:1",
            "not supported by duckpipe",
            "checks for <dataset>",
        ),
        (
            "checks for orders:\n  row_count: 1\n",
            "checks/x.yml:2",
            "must be followed by a list",
            "'- '",
        ),
        (
            "- row_count > 0\n",
            "checks/x.yml:1",
            "must be a mapping of sections",
            "checks for <dataset>",
        ),
    ],
)
def test_layout_errors_name_the_file_and_line(
    text: str, where: str, message: str, hint: str
) -> None:
    with pytest.raises(QualityError) as err:
        parse_checks(text, "checks/x.yml")
    assert err.value.where == where
    assert message in err.value.message
    assert hint in (err.value.hint or "")


def test_an_empty_file_has_no_checks() -> None:
    assert parse_checks("", "checks/empty.yml").datasets() == []


def test_checks_file_with_a_duplicate_key_names_the_path_and_both_lines(tmp_path: Path) -> None:
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "shop.yml").write_text(
        "checks for orders:\n"
        "  - row_count > 0\n"
        "  - missing_count(id) = 0:\n"
        "      name: ids present\n"
        "      name: no missing ids\n"
    )
    with pytest.raises(QualityError) as err:
        load_checks(tmp_path, [Path("checks/shop.yml")])
    assert err.value.where == "checks/shop.yml:5"
    assert "duplicate key 'checks for orders.1.missing_count(id) = 0.name'" in err.value.message
    assert "first at line 4, again at line 5" in err.value.message

    (checks / "shop.yml").write_text(
        "checks for orders:\n  - row_count > 0\nchecks for orders:\n  - row_count < 10\n"
    )
    with pytest.raises(QualityError) as err:
        load_checks(tmp_path, [Path("checks/shop.yml")])
    assert err.value.where == "checks/shop.yml:3"
    assert (
        "duplicate key 'checks for orders' (first at line 1, again at line 3)" in err.value.message
    )
