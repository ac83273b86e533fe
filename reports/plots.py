"""Figures of the reports (matplotlib, Agg backend): each drawn once and saved twice, PNG for the PDF and SVG for the
report page, so the page and the PDF show the same figure. Text is English (a CJK font is not assumed); coded groups
are drawn with their labels (reports.display)."""
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from reports.display import value_label  # noqa: E402
from reports.survival import Curve  # noqa: E402

# Fixed ids in the SVG, so the same figure gives the same bytes (and the same SHA-256) every time.
matplotlib.rcParams["svg.hashsalt"] = "nbnm-report"


@dataclass(frozen=True)
class Drawing:
    png: bytes
    svg: bytes


def _png(fig) -> Drawing:  # type: ignore[no-untyped-def]
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return Drawing(png.getvalue(), svg.getvalue())


def label(column: str, value: object) -> str:
    """A coded value as the figure shows it (English)."""
    return value_label(column, value, "en") or str(value)


def km_plot(curves: list[Curve], endpoint: str) -> Drawing:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for curve in curves:
        if curve.endpoint == endpoint:
            curve.fitter.plot_survival_function(ax=ax, ci_show=True, label=label("group", curve.group))
    ax.set_xlabel("Months from diagnosis")
    ax.set_ylabel(f"{label('endpoint', endpoint)} probability")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    return _png(fig)


def accrual_plot(accrual: pd.DataFrame, target: int) -> Drawing:
    """Cumulative enrolment per site and overall by month, with the trial's target as a line."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if not accrual.empty:
        for site, rows in accrual.groupby("site", sort=True):
            ax.step(pd.to_datetime(rows["month"]), rows["cumulative"], where="post", label=f"site {site}")
        total = accrual.groupby("month", sort=True)["enrolled"].sum().cumsum()
        ax.step(pd.to_datetime(total.index), total.to_numpy(), where="post", label="all sites", linewidth=2)
    ax.axhline(target, linestyle="--", color="grey", label=f"target {target}")
    ax.set_ylabel("Subjects enrolled (cumulative)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def bar_plot(labels: list[str], values: list[float], *, xlabel: str) -> Drawing:
    fig, ax = plt.subplots(figsize=(8, max(2.0, 0.3 * len(labels) + 1)))
    ax.barh(labels[::-1], values[::-1])
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def histogram(values: list[float], *, xlabel: str) -> Drawing:
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.hist(values, bins=30)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Count")
    ax.grid(alpha=0.3)
    return _png(fig)
