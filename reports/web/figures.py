"""The figures of a finished run on its page, as SVG.

First the report's own figures (Kaplan-Meier curves, accrual, dose, adverse events): drawn once by the builder with
the PDF's and stored with the run's files as `<key>.svg`, so the page shows the PDF's figure. Then a bar chart of
each cohort section of "category, patients, percent" rows, drawn from the run's stored JSON result with the same
plotting code (no query beyond the run and its files). Runs built before the figures were stored show the latter only.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.files.storage import default_storage

from reports.display import column_label, value_label
from reports.models import ReportFile, ReportRun

if TYPE_CHECKING:
    import pandas as pd

# Cohort sections whose rows are "category, patients, percent": drawn as bar charts of patients.
BAR_COLUMN = "patients"


def _stored(run: ReportRun, files: list[ReportFile]) -> list[tuple[str, str]]:
    names = {f.name for f in files if f.format == "svg"}
    return [(f["key"], f["title"]) for f in (run.result or {}).get("figures", []) if f"{f['key']}.svg" in names]


def _drawn(run: ReportRun) -> list[tuple[str, str]]:
    keys = []
    for section in (run.result or {}).get("sections", []):
        columns = section["columns"]
        if not section["rows"]:
            continue
        if section["key"] in ("accrual_by_month", "ae_by_soc_term") or (len(columns) == 3 and columns[1] == BAR_COLUMN):
            keys.append((section["key"], section["title"]))
    return keys


def figure_keys(run: ReportRun, files: list[ReportFile]) -> list[tuple[str, str]]:
    """(key, English title) of each figure of the run: its stored figures, then those drawn from its sections."""
    stored = _stored(run, files)
    if any(key == "accrual" for key, _ in stored):  # the stored accrual figure is the one drawn from accrual_by_month
        return stored + [k for k in _drawn(run) if k[0] != "accrual_by_month"]
    return stored + _drawn(run)


def _frame(section: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd  # with the first figure drawn, not with the URLconf (tests/test_lazy_imports.py)

    return pd.DataFrame(section["rows"], columns=section["columns"])


def render(run: ReportRun, key: str) -> bytes | None:
    """The SVG of one figure, or None if the run has no such figure."""
    files = list(run.files.filter(format="svg"))
    if key not in dict(figure_keys(run, files)):
        return None
    stored = next((f for f in files if f.name == f"{key}.svg"), None)
    if stored is not None:
        with default_storage.open(stored.storage_key, "rb") as handle:
            return bytes(handle.read())
    from reports import plots  # matplotlib: loaded when a figure is drawn, not at start-up

    section = next(s for s in run.result["sections"] if s["key"] == key)
    frame = _frame(section)
    if key == "accrual_by_month":
        target = run.trial.target_accrual if run.trial_id else 0
        return plots.accrual_plot(frame, target).svg
    if key == "ae_by_soc_term":
        by_soc = frame.groupby("soc")["events"].sum().sort_values(ascending=False, kind="stable")
        return plots.bar_plot([str(s)[:60] for s in by_soc.index], [float(v) for v in by_soc.tolist()], xlabel="Events").svg
    column = frame.columns[0]
    labels = [value_label(column, v, "en") or str(v) for v in frame[column]]
    return plots.bar_plot(labels, [float(v or 0) for v in frame[BAR_COLUMN]], xlabel=column_label(BAR_COLUMN, "en")).svg
