"""The cumulative effective-dose chart of the patient page, drawn as inline SVG (no JavaScript, prints, scales)."""
from dataclasses import dataclass
from datetime import date
from typing import Any

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 36


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    study_date: date | None
    cumulative_msv: float
    complete: bool


@dataclass(frozen=True)
class DoseChart:
    points: list[ChartPoint]
    polyline: str
    y_ticks: list[tuple[float, float]]  # (y pixel, mSv)
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


def dose_chart(exams: list[dict[str, Any]]) -> DoseChart | None:
    """A step of the running total per exam, spaced by exam order (dates may be missing or bunched)."""
    if not exams:
        return None
    top = _nice_max(max(e["cumulative_msv"] for e in exams))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(exams)
    points = []
    for i, exam in enumerate(exams):
        x = LEFT + (plot_w * (i + 0.5) / n)
        y = TOP + plot_h * (1 - exam["cumulative_msv"] / top)
        points.append(ChartPoint(round(x, 1), round(y, 1), exam["study_date"], exam["cumulative_msv"], exam["complete"]))
    ticks = [(round(TOP + plot_h * (1 - f), 1), round(top * f, 3)) for f in (0, 0.25, 0.5, 0.75, 1)]
    return DoseChart(points, " ".join(f"{p.x},{p.y}" for p in points), ticks)
