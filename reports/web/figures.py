"""The plots of a finished run, drawn from its stored JSON result with the same functions the PDF uses.

The PDF embeds its figures but the run keeps no PNG of them; drawing from the result needs no query beyond the
run itself and shows exactly the figures the run's own numbers give. PNG files a run produced (format "png") are
shown as they are instead.
"""
from typing import Any

import pandas as pd

from reports import plots
from reports.models import ReportRun

# Cohort sections whose rows are "category, patients, percent": drawn as bar charts of patients.
BAR_COLUMN = "patients"


def figure_keys(run: ReportRun) -> list[tuple[str, str]]:
    """(key, title) of each figure the run's result can give, in the order of its sections."""
    keys = []
    for section in (run.result or {}).get("sections", []):
        columns = section["columns"]
        if not section["rows"]:
            continue
        if section["key"] == "accrual_by_month":
            keys.append((section["key"], section["title"]))
        elif section["key"] == "ae_by_soc_term":
            keys.append((section["key"], section["title"]))
        elif len(columns) == 3 and columns[1] == BAR_COLUMN:
            keys.append((section["key"], section["title"]))
    return keys


def _frame(section: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(section["rows"], columns=section["columns"])


def render(run: ReportRun, key: str) -> bytes | None:
    """The PNG of one figure, or None if the run has no such figure."""
    if key not in dict(figure_keys(run)):
        return None
    section = next(s for s in run.result["sections"] if s["key"] == key)
    frame = _frame(section)
    if key == "accrual_by_month":
        target = run.trial.target_accrual if run.trial_id else 0
        return plots.accrual_plot(frame, target)
    if key == "ae_by_soc_term":
        by_soc = frame.groupby("soc")["events"].sum().sort_values(ascending=False, kind="stable")
        return plots.bar_plot([str(s)[:60] for s in by_soc.index], [float(v) for v in by_soc.tolist()], xlabel="Events")
    label = frame.columns[0]
    return plots.bar_plot([str(v) for v in frame[label]], [float(v or 0) for v in frame[BAR_COLUMN]], xlabel="Patients")
