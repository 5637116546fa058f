"""Inline SVG charts for the HTML report: no scripts, no fonts, no network.

Each function returns one ``<svg>`` element as text, with a ``<title>`` and a
``data-chart`` attribute naming the chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from duckpipe.advisor.findings import human_bytes

WIDTH, HEIGHT = 640, 240
PAD_LEFT, PAD_BOTTOM, PAD_TOP, PAD_RIGHT = 64, 56, 24, 16
TIER_COLOURS = {"hot": "#d9480f", "warm": "#f59f00", "cold": "#1c7ed6"}


def _svg(kind: str, title: str, body: list[str], height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{kind}" '
        f'role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "middle",
    size: int = 10,
    rotate: float | None = None,
) -> str:
    transform = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate is not None else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="#333"{transform}>{escape(text)}</text>'
    )


def _axes() -> list[str]:
    bottom = HEIGHT - PAD_BOTTOM
    return [
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{bottom}" stroke="#888"/>',
        f'<line x1="{PAD_LEFT}" y1="{bottom}" x2="{WIDTH - PAD_RIGHT}" y2="{bottom}" '
        'stroke="#888"/>',
    ]


def file_size_histogram(buckets: Sequence[dict[str, Any]], table: str) -> str:
    """Files per size bucket; the 512 MB - 1 GB target bucket in green."""
    title = f"File sizes of {table}"
    top = max((b["files"] for b in buckets), default=0) or 1
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(len(buckets), 1)
    body = _axes()
    for i, b in enumerate(buckets):
        h = plot_h * b["files"] / top
        x = PAD_LEFT + i * slot + slot * 0.1
        y = HEIGHT - PAD_BOTTOM - h
        colour = "#2f9e44" if b["label"] == "512 MB - 1 GB" else "#868e96"
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" '
            f'height="{h:.1f}" fill="{colour}"><title>{escape(b["label"])}: '
            f"{b['files']:,} files, {escape(human_bytes(b['bytes']))}</title></rect>"
        )
        if b["files"]:
            body.append(_text(x + slot * 0.4, y - 3, f"{b['files']:,}", size=9))
        body.append(_text(x + slot * 0.4, HEIGHT - PAD_BOTTOM + 14, b["label"], size=8))
    body.append(_text(PAD_LEFT - 8, PAD_TOP + 4, f"{top:,}", anchor="end"))
    body.append(_text(14, HEIGHT / 2, "files", rotate=-90))
    body.append(_text(WIDTH / 2, HEIGHT - 12, "file size (target 512 MB - 1 GB in green)"))
    return _svg("file-size-histogram", title, body)


def partition_sizes(parts: Sequence[dict[str, Any]], guideline: int, table: str) -> str:
    """Bytes per partition, largest first, on a log scale with the guideline as a line."""
    title = f"Partition sizes of {table}"
    sizes = [max(p["bytes"], 1) for p in parts]
    lo = max(math.floor(math.log2(min([*sizes, guideline]))) - 4, 0)
    hi = math.log2(max([*sizes, guideline]) * 2)
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(len(parts), 1)

    def y_of(v: float) -> float:
        return HEIGHT - PAD_BOTTOM - plot_h * (math.log2(max(v, 1)) - lo) / (hi - lo)

    body = _axes()
    for i, (p, size) in enumerate(zip(parts, sizes, strict=True)):
        y = y_of(size)
        colour = "#2f9e44" if size >= guideline else "#e8590c"
        body.append(
            f'<rect class="bar" x="{PAD_LEFT + i * slot:.1f}" y="{y:.1f}" '
            f'width="{max(slot * 0.85, 0.5):.1f}" height="{HEIGHT - PAD_BOTTOM - y:.1f}" '
            f'fill="{colour}"><title>{escape(p["key"])}: {escape(human_bytes(p["bytes"]))}, '
            f"{p['files']:,} files</title></rect>"
        )
    gy = y_of(guideline)
    body.append(
        f'<line class="guideline" x1="{PAD_LEFT}" y1="{gy:.1f}" x2="{WIDTH - PAD_RIGHT}" '
        f'y2="{gy:.1f}" stroke="#c92a2a" stroke-dasharray="4 3"/>'
    )
    body.append(
        _text(WIDTH - PAD_RIGHT, gy - 4, f"guideline {human_bytes(guideline)}", anchor="end")
    )
    for exp in range(math.ceil(lo / 10) * 10, int(hi) + 1, 10):
        body.append(
            _text(PAD_LEFT - 6, y_of(2**exp) + 3, human_bytes(2**exp), anchor="end", size=9)
        )
    body.append(
        _text(WIDTH / 2, HEIGHT - 12, f"{len(parts):,} partitions, largest first (log scale)")
    )
    return _svg("partition-sizes", title, body)


def age_tiers(rows: Sequence[tuple[str, dict[str, dict[str, int]]]], days: tuple[int, int]) -> str:
    """One stacked bar per table: bytes untouched < warm, < cold and longer."""
    title = "Bytes by age tier"
    bar_h, gap = 18, 8
    height = PAD_TOP + len(rows) * (bar_h + gap) + 48
    left = 160
    span = WIDTH - left - PAD_RIGHT
    body = []
    for i, (name, tiers) in enumerate(rows):
        y = PAD_TOP + i * (bar_h + gap)
        total = sum(t["bytes"] for t in tiers.values()) or 1
        x = float(left)
        body.append(_text(left - 6, y + bar_h * 0.7, name[:28], anchor="end"))
        for tier in ("hot", "warm", "cold"):
            w = span * tiers[tier]["bytes"] / total
            if w > 0:
                body.append(
                    f'<rect class="bar tier-{tier}" x="{x:.1f}" y="{y}" width="{w:.1f}" '
                    f'height="{bar_h}" fill="{TIER_COLOURS[tier]}"><title>{escape(name)} '
                    f"{tier}: {escape(human_bytes(tiers[tier]['bytes']))} in "
                    f"{tiers[tier]['files']:,} files</title></rect>"
                )
            x += w
    legend_y = height - 20
    labels = {
        "hot": f"hot (< {days[0]} days)",
        "warm": f"warm ({days[0]}-{days[1]} days)",
        "cold": f"cold (> {days[1]} days)",
    }
    for i, tier in enumerate(("hot", "warm", "cold")):
        x = left + i * 150
        body.append(
            f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{TIER_COLOURS[tier]}"/>'
        )
        body.append(_text(x + 14, legend_y, labels[tier], anchor="start"))
    return _svg("age-tiers", title, body, height=height)
