"""Inline SVG charts for the reports (``harbour.audit.report``): bars and lines, no library.

Why hand-made SVG rather than matplotlib: a report must open anywhere with no network and no
script library, and the few chart shapes it needs (horizontal bars, a time series with
threshold lines) are a hundred lines of SVG; matplotlib would add a 40 MB dependency, fonts and
a float pipeline for no figure the reader would see differently.

Values stay ``Decimal`` (exact, as the ledger gives them) until they become a coordinate, and
a coordinate is formatted from a ``Decimal`` too: no float is ever made. Every chart is an
``<svg class="chart" data-chart=NAME>``; each drawn value is an element with class ``mark``
(``data-value`` holds its exact figure), so the page's own check (and a test) can count them.
Labels are escaped: stream and asset names come from the ledger, not from this code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from markupsafe import Markup, escape

_WIDTH = Decimal(720)
_LABEL_WIDTH = Decimal(170)  # room for a bar's label on the left
_VALUE_WIDTH = Decimal(190)  # room for a bar's figure on the right
_BAR_HEIGHT = Decimal(22)
_BAR_GAP = Decimal(8)
_PLOT_HEIGHT = Decimal(240)
_MARGIN = Decimal(40)
_CENT = Decimal("0.01")
_PALETTE = ("#1f5f8b", "#d9822b", "#3d8c40", "#8b1f4f", "#6b5b95", "#4a4a4a")


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its exact value (its length) and the figure printed beside it."""

    label: str
    value: Decimal
    text: str


@dataclass(frozen=True)
class Threshold:
    """A horizontal reference line (e.g. the 100% margin-call level) and its name."""

    value: Decimal
    label: str
    colour: str = "#b22222"


@dataclass(frozen=True)
class Point:
    """One observation of a series. ``value`` None: off the scale (unbounded utilisation)."""

    at: datetime
    value: Decimal | None
    text: str


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]


def bar_chart(
    name: str, title: str, bars: Sequence[Bar], *, limit: Threshold | None = None
) -> Markup:
    """Horizontal bars scaled to the largest value (or to ``limit``, drawn as a line)."""
    top = max([b.value for b in bars] + [limit.value if limit else Decimal(0), Decimal(0)])
    scale = (_WIDTH - _LABEL_WIDTH - _VALUE_WIDTH) / top if top > 0 else Decimal(0)
    height = _MARGIN + len(bars) * (_BAR_HEIGHT + _BAR_GAP) + _BAR_GAP
    parts = [_open(name, title, height)]
    for index, bar in enumerate(bars):
        y = _MARGIN + index * (_BAR_HEIGHT + _BAR_GAP)
        length = max(bar.value, Decimal(0)) * scale
        colour = _PALETTE[index % len(_PALETTE)]
        parts.append(
            f'<text x="{_c(_LABEL_WIDTH - 6)}" y="{_c(y + 15)}" text-anchor="end">'
            f"{escape(bar.label)}</text>"
            f'<rect class="mark" x="{_c(_LABEL_WIDTH)}" y="{_c(y)}" width="{_c(length)}" '
            f'height="{_c(_BAR_HEIGHT)}" fill="{colour}" data-label="{escape(bar.label)}" '
            f'data-value="{escape(str(bar.value))}"><title>{escape(bar.label)}: '
            f"{escape(bar.text)}</title></rect>"
            f'<text x="{_c(_LABEL_WIDTH + length + 6)}" y="{_c(y + 15)}">{escape(bar.text)}</text>'
        )
    if limit is not None and scale > 0:
        x = _LABEL_WIDTH + limit.value * scale
        parts.append(
            f'<line class="threshold" x1="{_c(x)}" x2="{_c(x)}" y1="{_c(_MARGIN - 8)}" '
            f'y2="{_c(height)}" stroke="{limit.colour}" stroke-dasharray="4 3"/>'
            f'<text x="{_c(x + 4)}" y="{_c(_MARGIN - 10)}" fill="{limit.colour}">'
            f"{escape(limit.label)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    name: str,
    title: str,
    series: Sequence[Series],
    *,
    thresholds: Sequence[Threshold] = (),
    unit: str = "",
) -> Markup:
    """Series over time (steps between observations); ``thresholds`` as dashed lines. A point
    whose value is None is drawn at the top edge with a "∞" marker."""
    points = [p for s in series for p in s.points]
    times = [p.at for p in points] or [datetime.min]
    start, end = min(times), max(times)
    span = _micros(end - start) or 1
    values = [p.value for p in points if p.value is not None] + [t.value for t in thresholds]
    top = _nice_top(max([*values, Decimal(0)]) * Decimal("1.1"))
    plot_left, plot_width = _MARGIN + 30, _WIDTH - _MARGIN - 30 - 20
    height = _PLOT_HEIGHT + _MARGIN * 2

    def x_of(at: datetime) -> Decimal:
        return plot_left + plot_width * _micros(at - start) / span

    def y_of(value: Decimal | None) -> Decimal:
        shown = top if value is None else min(value, top)
        return _MARGIN + _PLOT_HEIGHT - _PLOT_HEIGHT * shown / top

    parts = [_open(name, title, height), _axes(plot_left, plot_width, top, unit)]
    for index, threshold in enumerate(thresholds):
        y = y_of(threshold.value)
        # Labels alternate right and left: thresholds 10 points apart would overlap.
        x, anchor = (
            (plot_left + plot_width - 4, "end") if index % 2 == 0 else (plot_left + 4, "start")
        )
        parts.append(
            f'<line class="threshold" x1="{_c(plot_left)}" x2="{_c(plot_left + plot_width)}" '
            f'y1="{_c(y)}" y2="{_c(y)}" stroke="{threshold.colour}" stroke-dasharray="5 4"/>'
            f'<text x="{_c(x)}" y="{_c(y - 4)}" text-anchor="{anchor}" '
            f'fill="{threshold.colour}">{escape(threshold.label)}</text>'
        )
    for index, one in enumerate(series):
        colour = _PALETTE[index % len(_PALETTE)]
        parts.append(_series(one, colour, x_of, y_of))
        parts.append(
            f'<text x="{_c(plot_left + 8 + index * 160)}" y="{_c(height - 8)}" fill="{colour}">'
            f"■ {escape(one.name)}</text>"
        )
    parts.append(
        f'<text x="{_c(plot_left)}" y="{_c(_MARGIN + _PLOT_HEIGHT + 16)}">'
        f"{escape(_when(start))}</text>"
        f'<text x="{_c(plot_left + plot_width)}" y="{_c(_MARGIN + _PLOT_HEIGHT + 16)}" '
        f'text-anchor="end">{escape(_when(end))}</text></svg>'
    )
    return Markup("".join(parts))


def _series(
    one: Series,
    colour: str,
    x_of: Callable[[datetime], Decimal],
    y_of: Callable[[Decimal | None], Decimal],
) -> str:
    steps: list[str] = []
    marks: list[str] = []
    previous_y: Decimal | None = None
    for point in one.points:
        x, y = x_of(point.at), y_of(point.value)
        # A step: the figure holds until the next observation changes it.
        if previous_y is not None:
            steps.append(f"{_c(x)},{_c(previous_y)}")
        steps.append(f"{_c(x)},{_c(y)}")
        previous_y = y
        shape = "∞ " if point.value is None else ""
        marks.append(
            f'<circle class="mark" cx="{_c(x)}" cy="{_c(y)}" r="3.5" fill="{colour}" '
            f'data-value="{escape(point.text)}"><title>{escape(_when(point.at))}: {shape}'
            f"{escape(point.text)}</title></circle>"
        )
    line = (
        f'<polyline points="{" ".join(steps)}" fill="none" stroke="{colour}" stroke-width="2"/>'
        if len(steps) > 1
        else ""
    )
    return line + "".join(marks)


def _axes(left: Decimal, width: Decimal, top: Decimal, unit: str) -> str:
    bottom = _MARGIN + _PLOT_HEIGHT
    parts = [
        f'<line x1="{_c(left)}" x2="{_c(left)}" y1="{_c(_MARGIN)}" y2="{_c(bottom)}" '
        'stroke="#888"/>'
        f'<line x1="{_c(left)}" x2="{_c(left + width)}" y1="{_c(bottom)}" y2="{_c(bottom)}" '
        'stroke="#888"/>'
    ]
    for step in range(5):
        value = top * step / 4
        y = bottom - _PLOT_HEIGHT * step / 4
        parts.append(
            f'<text x="{_c(left - 4)}" y="{_c(y + 4)}" text-anchor="end">'
            f"{escape(_tick(value))}{escape(unit)}</text>"
        )
    return "".join(parts)


def _open(name: str, title: str, height: Decimal) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(name)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {_c(_WIDTH)} {_c(height)}" width="{_c(_WIDTH)}" height="{_c(height)}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text class="chart-title" x="8" y="18">{escape(title)}</text>'
    )


def _nice_top(value: Decimal) -> Decimal:
    """A round upper bound for an axis (1, 2 or 5 times a power of ten), at least 1."""
    if value <= 1:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for factor in (1, 2, 5, 10):
        if magnitude * factor >= value:
            return magnitude * factor
    return magnitude * 10


def _tick(value: Decimal) -> str:
    return f"{value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN):,}"


def _micros(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def _when(at: datetime) -> str:
    return "" if at == datetime.min else at.strftime("%Y-%m-%d %H:%M:%S")


def _c(value: Decimal | int) -> str:
    """An SVG coordinate: the exact Decimal rounded to a hundredth of a pixel."""
    return str(Decimal(value).quantize(_CENT, rounding=ROUND_HALF_EVEN))
