"""Rules every sink's maintenance shares: the retention guard and target sizes."""

from __future__ import annotations

from duckpipe.core.errors import SinkError

MIN_RETENTION_HOURS = 168.0
"""Files younger than this may still be read by a running query or be part of a commit in
flight; deleting them needs ``enforce_retention=False`` (``--force``)."""


def check_retention(retention_hours: float, enforce: bool, *, table: str) -> None:
    """Refuse a retention shorter than the safe minimum unless the caller insists."""
    if retention_hours < 0:
        raise SinkError(f"retention must not be negative (got {retention_hours} h)", where=table)
    if enforce and retention_hours < MIN_RETENTION_HOURS:
        raise SinkError(
            f"a retention of {retention_hours:g} h is shorter than the safe minimum of "
            f"{MIN_RETENTION_HOURS:g} h: running readers or writers may still need those files",
            where=table,
            hint="if nothing is reading or writing the table, force it "
            "(`duckpipe table vacuum NAME --retention-hours 0 --force`)",
        )


def check_target_size(target_size: int, *, table: str) -> None:
    if target_size < 1024:
        raise SinkError(
            f"target file size {target_size} bytes is too small",
            where=table,
            hint="give bytes, e.g. 134217728 (128 MB)",
        )


def bin_pack(sizes: list[tuple[str, int]], target_size: int) -> list[list[str]]:
    """Group file names into bins whose total size stays near ``target_size`` (first fit, largest first).

    >>> bin_pack([("a", 60), ("b", 50), ("c", 40), ("d", 30)], 100)
    [['a', 'c'], ['b', 'd']]
    """
    bins: list[tuple[int, list[str]]] = []
    for name, size in sorted(sizes, key=lambda s: -s[1]):
        for i, (total, names) in enumerate(bins):
            if total + size <= target_size:
                bins[i] = (total + size, [*names, name])
                break
        else:
            bins.append((size, [name]))
    return [names for _, names in bins]
