"""The accrual chart: cumulative enrolments against the trial's target, as inline SVG coordinates."""
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT, PAD = 600, 240, 40


@dataclass(frozen=True)
class AccrualChart:
    points: str  # SVG polyline points of the cumulative enrolment (a step line)
    target_y: float
    max_y: int
    start: date
    end: date
    enrolled: int
    target: int
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD

    @property
    def plot_right(self) -> int:
        return self.width - self.pad

    @property
    def plot_bottom(self) -> int:
        return self.height - self.pad


def accrual_chart(enrolment_days: list[date], *, target: int, start: date, end: date) -> AccrualChart:
    """`enrolment_days` sorted; `start` is the first site activation (or the first enrolment), `end` today."""
    start = min([start, *enrolment_days[:1]])
    end = max([end, *enrolment_days[-1:]])
    span = max((end - start).days, 1)
    max_y = max(target, len(enrolment_days), 1)

    def x(day: date) -> float:
        return round(PAD + (WIDTH - 2 * PAD) * (day - start).days / span, 1)

    def y(count: int) -> float:
        return round(HEIGHT - PAD - (HEIGHT - 2 * PAD) * count / max_y, 1)

    coords = [(x(start), y(0))]
    for count, day in enumerate(enrolment_days, start=1):
        coords += [(x(day), y(count - 1)), (x(day), y(count))]
    coords.append((x(end), y(len(enrolment_days))))
    return AccrualChart(points=" ".join(f"{a},{b}" for a, b in coords), target_y=y(target), max_y=max_y, start=start, end=end,
                        enrolled=len(enrolment_days), target=target)
