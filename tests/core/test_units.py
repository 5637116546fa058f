"""core.units: the one reader of sizes and durations, good forms and bad."""

from __future__ import annotations

import pytest

from duckpipe.core.units import is_plain_number, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4096", 4096),
        (4096, 4096),
        ("0", 0),
        ("1B", 1),
        ("512KB", 512 * 1024),
        ("512KiB", 512 * 1024),
        ("128MB", 128 * 1024**2),
        ("512mb", 512 * 1024**2),
        (" 64 MiB ", 64 * 1024**2),
        ("1GB", 1024**3),
        ("1GiB", 1024**3),
        ("1.5GB", 3 * 1024**3 // 2),
        (".5KB", 512),
    ],
)
def test_sizes(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text", ["", "big", "MB", "12TB", "12BB", "-5MB", "1e3", "1.2.3MB", "\u0661\u0662MB", "²MB", -1]
)
def test_bad_sizes_name_the_text_and_the_forms(text: str | int) -> None:
    with pytest.raises(ValueError) as err:
        parse_size(text)
    assert f"not a size: {text!r}" in str(err.value)
    assert "128MB" in str(err.value) and "bytes" in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30", 30.0),
        (30, 30.0),
        (0.25, 0.25),
        ("2.5", 2.5),
        ("500ms", 0.5),
        ("250 milliseconds", 0.25),
        ("30s", 30.0),
        ("90 seconds", 90.0),
        ("15m", 900.0),
        ("15 min", 900.0),
        ("1h", 3600.0),
        ("2 hours", 7200.0),
        ("1H", 3600.0),
        ("1d", 86400.0),
        ("1w", 604800.0),
        (" 5m ", 300.0),
    ],
)
def test_durations_in_seconds(text: str | float, expected: float) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "soon", "two hours", "5 fortnights", "-5s", "1e3s", "1h30m", "s", "1.s", -2]
)
def test_bad_durations_name_the_text_and_the_forms(text: str | float) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert f"not a duration: {text!r}" in str(err.value)
    assert "15m" in str(err.value) and "seconds" in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"), [("1000", True), (" 2.5 ", True), ("1h", False), ("x", False)]
)
def test_plain_numbers_have_no_unit(text: str, expected: bool) -> None:
    assert is_plain_number(text) is expected


def test_core_imports_nothing_from_duckpipe_outside_core() -> None:
    import ast
    from pathlib import Path

    import duckpipe.core

    for path in Path(duckpipe.core.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
            for name in names:
                assert not name.startswith("duckpipe") or name.startswith("duckpipe.core"), (
                    f"{path.name} imports {name}"
                )
