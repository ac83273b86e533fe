"""The cumulative effective-dose chart of the patient page, drawn as inline SVG (no JavaScript, prints, scales).

The x axis is time: each dated exam sits at its study date, so two exams a week apart are close and a year's gap shows
as one. The line is a step (the child's cumulative dose rises at each exam and stays until the next). Exams without a
recorded date cannot be placed on a time axis; they are left off the chart and listed apart by the panel.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 36


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    study_date: date
    cumulative_msv: float
    complete: bool


@dataclass(frozen=True)
class DoseChart:
    points: list[ChartPoint]
    polyline: str
    y_ticks: list[tuple[float, float]]  # (y pixel, mSv)
    x_ticks: list[tuple[float, date]] = field(default_factory=list)  # (x pixel, date)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: int = HEIGHT - BOTTOM


def _nice_max(value: float) -> float:
    """A round axis maximum (1, 2, 5 x 10^n) at or above `value`, so ticks read as whole numbers."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def _month_starts(first: date, last: date, every: int) -> list[date]:
    """The first days of months inside [first, last] whose month number (counted from year 0) is a multiple of `every`."""
    index = first.year * 12 + first.month - 1 + (first.day > 1)
    ticks = []
    while (d := date(index // 12, index % 12 + 1, 1)) <= last:
        if index % every == 0:
            ticks.append(d)
        index += 1
    return ticks


def date_ticks(first: date, last: date, most: int = 6) -> list[date]:
    """Round dates inside [first, last] for the time axis: the finest of every 1, 2 or 7 days, or the starts of every
    1, 2, 3 or 6 months, or of every 1, 2, 5 or 10 years, that gives between 2 and `most` ticks. A single day: itself."""
    span = (last - first).days
    if span <= 0:
        return [first]
    candidates = [[first + timedelta(days=n) for n in range(0, span + 1, step)] for step in (1, 2, 7) if span // step < most]
    candidates += [_month_starts(first, last, months) for months in (1, 2, 3, 6, 12, 24, 60, 120)]
    return next((ticks for ticks in candidates if 2 <= len(ticks) <= most), [first, last])


def dose_chart(exams: list[dict[str, Any]]) -> DoseChart | None:
    """The running total at each dated exam, placed by date; None when no exam has a date."""
    dated = [e for e in exams if e.get("study_date") is not None]
    if not dated:
        return None
    dated.sort(key=lambda e: e["study_date"])  # stable: exams of one day keep the selector's order
    top = _nice_max(max(e["cumulative_msv"] for e in dated))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    first, last = dated[0]["study_date"], dated[-1]["study_date"]
    # Some air on both sides (5 % of the span, at least a day) so the first and last exams are not on the frame.
    pad = max(timedelta(days=1), (last - first) * 0.05)
    start, days = first - pad, ((last + pad) - (first - pad)).days or 1

    def x_of(d: date) -> float:
        return round(LEFT + plot_w * (d - start).days / days, 1)

    def y_of(msv: float) -> float:
        return round(TOP + plot_h * (1 - msv / top), 1)

    points = [ChartPoint(x_of(e["study_date"]), y_of(e["cumulative_msv"]), e["study_date"], e["cumulative_msv"], e["complete"])
              for e in dated]
    # A step line: from zero before the first exam, flat until the next exam, then up to its new total.
    path = [(float(LEFT), y_of(0.0)), (points[0].x, y_of(0.0))]
    for i, p in enumerate(points):
        if i:
            path.append((p.x, points[i - 1].y))
        path.append((p.x, p.y))
    path.append((float(WIDTH - RIGHT), points[-1].y))
    y_ticks = [(y_of(top * f), round(top * f, 3)) for f in (0, 0.25, 0.5, 0.75, 1)]
    x_ticks = [(x_of(d), d) for d in date_ticks(first, last)]
    return DoseChart(points, " ".join(f"{x},{y}" for x, y in path), y_ticks, x_ticks)
