"""Server-made SVG charts for the dashboard: no JavaScript library, nothing to vendor, readable without scripts.

Pure functions from numbers to SVG markup; every label is escaped. Colours come from CSS classes, so the page's
stylesheet decides the look.
"""
from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape


def _nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def bar_chart(categories: list[str], series: list[dict[str, Any]], *, unit: str = "", title: str = "",
              width: int = 640, height: int = 240, max_value: float | None = None) -> Markup:
    """Grouped vertical bars. series: [{"label", "values": [float|None per category], "cls"}]."""
    left, right, top, bottom = 44, 12, 14, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s["values"] if v is not None]
    if not values:
        return no_data(title, width, height)
    vmax = max_value if max_value is not None else _nice_max(max(values, default=0))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    for i in range(5):  # grid and axis labels
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{escape(_fmt(vmax * i / 4))}{escape(unit)}</text>")
    n = max(len(categories), 1)
    group_w = plot_w / n
    bar_w = min(28.0, group_w * 0.8 / max(len(series), 1))
    for ci, cat in enumerate(categories):
        gx = left + group_w * ci + (group_w - bar_w * len(series)) / 2
        for si, s in enumerate(series):
            v = s["values"][ci]
            x = gx + bar_w * si
            if v is None:  # no figure for this day: say so, do not draw a bar that reads as 0
                parts.append(f'<text class="axis nodata" x="{x + bar_w / 2:.1f}" y="{top + plot_h - 4:.1f}" '
                             f'text-anchor="middle">–<title>{escape(cat)}: no data</title></text>')
                continue
            h = max(plot_h * min(v, vmax) / vmax, 1.5 if v == 0 else 0)  # a 0 shows as a line on the axis
            parts.append(f'<rect class="bar {escape(s.get("cls", ""))}" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
                         f'width="{bar_w - 2:.1f}" height="{h:.1f}" rx="2">'
                         f"<title>{escape(cat)}: {escape(s['label'])} {escape(_fmt(v))}{escape(unit)}</title></rect>")
            if len(series) == 1 and n <= 31:  # one series: its value written on the bar ("0%" reads as 0%)
                parts.append(f'<text class="axis value" x="{x + bar_w / 2:.1f}" y="{top + plot_h - h - 3:.1f}" '
                             f'text-anchor="middle">{escape(_fmt(v))}{escape(unit)}</text>')
        if n <= 16 or ci % math.ceil(n / 16) == 0:
            parts.append(f'<text class="axis" x="{left + group_w * (ci + 0.5):.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle">{escape(cat)}</text>')
    lx = left
    for s in series:  # legend
        parts.append(f'<rect class="bar {escape(s.get("cls", ""))}" x="{lx}" y="{height - 16}" width="10" '
                     f'height="10" rx="2"/><text class="legend" x="{lx + 14}" y="{height - 7}">'
                     f"{escape(s['label'])}</text>")
        lx += 24 + 7 * len(s["label"])
    parts.append("</svg>")
    return Markup("".join(parts))


def no_data(title: str, width: int = 640, height: int = 240) -> Markup:
    """A chart frame that says "no data" (a chart of nothing must not look like a chart of zeros)."""
    return Markup(f'<svg class="chart empty" viewBox="0 0 {width} {height}" role="img" '
                  f'aria-label="{escape(title)}: no data" xmlns="http://www.w3.org/2000/svg">'
                  f"<title>{escape(title)}: no data</title>"
                  f'<rect class="meter-bg" x="1" y="1" width="{width - 2}" height="{height - 2}" rx="6"/>'
                  f'<text class="nodata" x="{width / 2}" y="{height / 2 + 5}" text-anchor="middle">no data</text>'
                  "</svg>")


def share_meter(share: float | None, *, label: str = "within target", width: int = 220, height: int = 22) -> Markup:
    """A horizontal meter for a 0..1 share, with the percentage written on it."""
    if share is None:
        return Markup(f'<svg class="meter" viewBox="0 0 {width} {height}" role="img" aria-label="no data">'
                      f'<rect class="meter-bg" width="{width}" height="{height}" rx="4"/>'
                      f'<text class="meter-text" x="8" y="{height / 2 + 4}">no data</text></svg>')
    share = max(0.0, min(1.0, float(share)))
    cls = "good" if share >= 0.9 else "fair" if share >= 0.7 else "poor"
    pct = f"{share * 100:.0f}%"
    return Markup(f'<svg class="meter" viewBox="0 0 {width} {height}" role="img" '
                  f'aria-label="{escape(pct)} {escape(label)}"><rect class="meter-bg" width="{width}" '
                  f'height="{height}" rx="4"/><rect class="meter-fill {cls}" width="{width * share:.1f}" '
                  f'height="{height}" rx="4"/><text class="meter-text" x="8" y="{height / 2 + 4}">'
                  f"{escape(pct)} {escape(label)}</text></svg>")


def share_text(share: float | None, base: int) -> str:
    """'75% (3 of 4)': a 0..1 share written with the counts it stands on; '–' when there is none."""
    if share is None or base <= 0:
        return "–"
    return f"{float(share) * 100:.0f}% ({round(float(share) * base)} of {base})"


def minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) / 60.0, 1)


def humanize(seconds: float | None) -> str:
    """'35s', '12m', '1h 05m', '9d 4h': the tray's words for a duration, so one post reads the same everywhere."""
    if seconds is None:
        return "–"
    s = max(0, int(float(seconds)))
    if s < 60:
        return f"{s}s"
    minutes_ = s // 60
    if minutes_ < 60:
        return f"{minutes_}m"
    hours, mins = divmod(minutes_, 60)
    if hours < 48:
        return f"{hours}h {mins:02d}m"
    return f"{hours // 24}d {hours % 24}h"
