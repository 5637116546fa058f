"""The one reader of sizes (``512MB``, ``1GiB``, bytes) and durations (``15m``, ``500ms``, seconds).

Both raise a plain ``ValueError`` whose message names the text and the accepted
forms; callers add the place (a key of duckpipe.yml, a CLI option).

>>> parse_size("128MB"), parse_size("1GiB"), parse_size("4096")
(134217728, 1073741824, 4096)
>>> parse_duration("15m"), parse_duration("500ms"), parse_duration("30"), parse_duration(2)
(900.0, 0.5, 30.0, 2.0)
"""

from __future__ import annotations

import re

SIZE_FORMS = "bytes or e.g. 512KB, 128MB, 1GB (KB, MB, GB are 1024-based, as KiB, MiB, GiB)"
DURATION_FORMS = "e.g. 500ms, 30s, 15m, 1h, 1d, 1w, or a number of seconds"

_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KB": 1024,
    "KIB": 1024,
    "MB": 1024**2,
    "MIB": 1024**2,
    "GB": 1024**3,
    "GIB": 1024**3,
}
_SIZE = re.compile(r"^(?P<n>\d+(?:\.\d*)?|\.\d+)(?P<unit>[A-Z]*)$", re.ASCII)

_SECONDS = {
    "ms": 0.001,
    "msec": 0.001,
    "msecs": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}
_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[a-z]+)?\s*$", re.ASCII)


def parse_size(text: str | int) -> int:
    """Bytes from ``134217728``, ``"128MB"``, ``"1.5GB"``, ``"512KiB"`` (case and spaces do not matter)."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"not a size: {text!r} is negative; write {SIZE_FORMS}")
        return text
    raw = str(text).strip().upper().replace(" ", "")
    match = _SIZE.match(raw)
    if not match or match["unit"] not in _SIZE_UNITS:
        raise ValueError(f"not a size: {text!r}; write {SIZE_FORMS}")
    return int(float(match["n"]) * _SIZE_UNITS[match["unit"]])


def is_plain_number(text: str) -> bool:
    """True for ``"1000"`` or ``"2.5"``: a duration without a unit (seconds, or a numeric lookback)."""
    match = _DURATION.match(text)
    return bool(match) and match["unit"] is None  # type: ignore[index]


def parse_duration(value: str | float) -> float:
    """Seconds from ``"500ms"``, ``"30s"``, ``"15m"``, ``"2 hours"``, ``"1d"``, ``"1w"`` or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"not a duration: {value!r} is negative; write {DURATION_FORMS}")
        return float(value)
    match = _DURATION.match(str(value).lower())
    if not match or (match["unit"] and match["unit"] not in _SECONDS):
        raise ValueError(f"not a duration: {value!r}; write {DURATION_FORMS}")
    return float(match["n"]) * _SECONDS[match["unit"] or "s"]
