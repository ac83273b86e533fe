"""Figures of the reports (matplotlib, Agg backend): each drawn once and saved twice, PNG for the PDF and SVG for the
report page, so the page and the PDF show the same figure. Text is in the run's language: Chinese for a zh-hans run
when fontconfig finds a Chinese font (Noto Sans CJK, `make browser`), else English (no error); coded groups are drawn
with their labels (reports.display)."""
import io
import logging
import shutil
import subprocess
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cache

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from reports.display import is_zh, value_label  # noqa: E402
from reports.survival import Curve  # noqa: E402

# Fixed ids in the SVG, so the same figure gives the same bytes (and the same SHA-256) every time.
matplotlib.rcParams["svg.hashsalt"] = "nbnm-report"


logger = logging.getLogger(__name__)

# The figures' fixed words in Chinese (a figure has no request: the run's language chooses).
ZH_WORDS = {"Months from diagnosis": "自诊断起的月数", "{endpoint} probability": "{endpoint}概率",
            "site {site}": "中心 {site}", "all sites": "全部中心", "target {target}": "目标 {target}",
            "Subjects enrolled (cumulative)": "累计入组受试者数", "Count": "数量", "Events": "事件数",
            "bias {bias}": "偏倚 {bias}", "95% limits of agreement": "95% 一致性界限",
            "Mean of reference and test ({unit})": "参考与测试的均值（{unit}）", "Test - reference ({unit})": "测试 - 参考（{unit}）"}


@cache
def cjk_family() -> str | None:
    """The matplotlib family name of the Chinese font fontconfig picks, registered once; None without one."""
    try:
        if not shutil.which("fc-match"):
            return None
        path = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC:lang=zh-cn"], capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
        listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=True, timeout=30).stdout
        if not path or path not in listed:
            return None
        from matplotlib import font_manager

        font_manager.fontManager.addfont(path)
        return font_manager.FontProperties(fname=path).get_name()
    except (OSError, subprocess.SubprocessError, RuntimeError, ValueError):
        logger.warning("No Chinese font for the report figures: they are drawn in English.")
        return None


def figure_language(language: str | None) -> str:
    """The language the figure is drawn in: Chinese only when a Chinese font is there."""
    return "zh-hans" if is_zh(language) and cjk_family() else "en"


def _words(text: str, language: str) -> str:
    return ZH_WORDS.get(text, text) if language == "zh-hans" else text


def _font(language: str) -> AbstractContextManager:  # type: ignore[type-arg]
    family = cjk_family() if language == "zh-hans" else None
    return plt.rc_context({"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"]}) if family else nullcontext()


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


def label(column: str, value: object, language: str = "en") -> str:
    """A coded value as the figure shows it (English, or Chinese for a figure drawn in Chinese)."""
    return value_label(column, value, language) or str(value)


def km_plot(curves: list[Curve], endpoint: str, language: str = "en") -> Drawing:
    language = figure_language(language)
    with _font(language):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for curve in curves:
            if curve.endpoint == endpoint:
                curve.fitter.plot_survival_function(ax=ax, ci_show=True, label=label("group", curve.group, language))
        ax.set_xlabel(_words("Months from diagnosis", language))
        ax.set_ylabel(_words("{endpoint} probability", language).format(endpoint=label("endpoint", endpoint, language)))
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        return _png(fig)


def accrual_plot(accrual: pd.DataFrame, target: int, language: str = "en") -> Drawing:
    """Cumulative enrolment per site and overall by month, with the trial's target as a line."""
    language = figure_language(language)
    with _font(language):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        if not accrual.empty:
            for site, rows in accrual.groupby("site", sort=True):
                ax.step(pd.to_datetime(rows["month"]), rows["cumulative"], where="post",
                        label=_words("site {site}", language).format(site=site))
            total = accrual.groupby("month", sort=True)["enrolled"].sum().cumsum()
            ax.step(pd.to_datetime(total.index), total.to_numpy(), where="post", label=_words("all sites", language), linewidth=2)
        ax.axhline(target, linestyle="--", color="grey", label=_words("target {target}", language).format(target=target))
        ax.set_ylabel(_words("Subjects enrolled (cumulative)", language))
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        return _png(fig)


def bar_plot(labels: list[str], values: list[float], *, xlabel: str, language: str = "en") -> Drawing:
    language = figure_language(language)
    with _font(language):
        fig, ax = plt.subplots(figsize=(8, max(2.0, 0.3 * len(labels) + 1)))
        ax.barh(labels[::-1], values[::-1])
        ax.set_xlabel(_words(xlabel, language))
        ax.grid(alpha=0.3, axis="x")
        return _png(fig)


def histogram(values: list[float], *, xlabel: str, language: str = "en") -> Drawing:
    language = figure_language(language)
    with _font(language):
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.hist(values, bins=30)
        ax.set_xlabel(_words(xlabel, language))
        ax.set_ylabel(_words("Count", language))
        ax.grid(alpha=0.3)
        return _png(fig)


@dataclass(frozen=True)
class AgreementPanel:
    """One Bland-Altman panel: a measure's paired means and differences (test - reference), bias and 95 % limits."""

    measure: str
    means: list[float]
    differences: list[float]
    bias: float | None
    lower: float | None
    upper: float | None


def bland_altman_plot(panels: list[AgreementPanel], *, unit: str, language: str = "en") -> Drawing:
    """Bland-Altman plots side by side: the difference test - reference against the mean of the two, the bias as a line
    and the 95 % limits of agreement dashed (Bland JM, Altman DG, Lancet 1986;1(8476):307-310)."""
    language = figure_language(language)
    with _font(language):
        fig, axes = plt.subplots(1, len(panels), figsize=(max(4.0, 3.6 * len(panels)), 3.6), squeeze=False)
        for ax, panel in zip(axes[0], panels, strict=True):
            ax.scatter(panel.means, panel.differences, s=14)
            if panel.bias is not None:
                ax.axhline(panel.bias, color="C1", label=_words("bias {bias}", language).format(bias=f"{panel.bias:.3g}"))
            if panel.lower is not None and panel.upper is not None:
                ax.axhline(panel.lower, color="grey", linestyle="--", label=_words("95% limits of agreement", language))
                ax.axhline(panel.upper, color="grey", linestyle="--")
            ax.set_title(label("measure", panel.measure, language))
            ax.set_xlabel(_words("Mean of reference and test ({unit})", language).format(unit=unit))
            ax.set_ylabel(_words("Test - reference ({unit})", language).format(unit=unit))
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
        return _png(fig)
