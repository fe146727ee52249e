"""Chart geometry for server-rendered SVG: bars scaled to the largest value, with labels — pure
functions over numbers, so the page needs no chart library and no script."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Bar", "Column", "hbars", "columns", "LABEL_W", "CHART_W", "ROW_H", "PLOT_H"]

CHART_W = 440
LABEL_W = 112
VALUE_W = 64
ROW_H = 26
PLOT_H = 140


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its row's ``y``, its ``width`` in the plot, the label and the value as shown."""

    y: int
    width: float
    label: str
    shown: str
    tone: str = ""


def hbars(rows: Iterable[tuple[str, float | None, str]], *, maximum: float | None = None,
          tone=lambda value: "") -> tuple[list[Bar], int]:
    """Bars for ``(label, value, shown)`` rows, scaled so the largest value (or ``maximum``) fills
    the plot; returns the bars and the chart's height. A missing value draws no bar."""
    rows = list(rows)
    top = maximum if maximum is not None else max((v or 0 for _l, v, _s in rows), default=0)
    plot = CHART_W - LABEL_W - VALUE_W
    bars = [Bar(i * ROW_H, round(plot * (value or 0) / top, 1) if top else 0.0, label, shown, tone(value))
            for i, (label, value, shown) in enumerate(rows)]
    return bars, max(ROW_H, len(rows) * ROW_H)


@dataclass(frozen=True)
class Column:
    """One group of vertical columns (one per series) at ``x``, with heights and the label below."""

    x: float
    heights: tuple[float, ...]
    values: tuple[int, ...]
    label: str


def columns(groups: Iterable[tuple[str, tuple[int, ...]]]) -> tuple[list[Column], float]:
    """Grouped columns for ``(label, values)``, scaled to the largest value; returns the columns
    and the width of one column."""
    groups = list(groups)
    top = max((v for _l, values in groups for v in values), default=0)
    slot = CHART_W / max(1, len(groups))
    series = max((len(values) for _l, values in groups), default=1)
    width = max(2.0, (slot * 0.8) / series)
    result = [Column(round(i * slot + slot * 0.1, 1),
                     tuple(round(PLOT_H * v / top, 1) if top else 0.0 for v in values), values, label)
              for i, (label, values) in enumerate(groups)]
    return result, round(width, 1)
