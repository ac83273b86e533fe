"""Kaplan-Meier estimates (lifelines) as tidy tables at fixed months, with numbers at risk and 95 % CIs."""
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

DAYS_PER_MONTH = 365.25 / 12
# Time points tabulated; the curves in the PDF are drawn from the full estimate.
MONTHS = (0, 6, 12, 24, 36, 48, 60)


@dataclass(frozen=True)
class Curve:
    endpoint: str
    group: str
    fitter: KaplanMeierFitter


def fit(durations_days: pd.Series, events: pd.Series, *, label: str) -> KaplanMeierFitter:
    """Fit on months from diagnosis; lifelines' default CI is the exponential Greenwood 95 % interval."""
    kmf = KaplanMeierFitter()
    kmf.fit(durations_days.astype(float) / DAYS_PER_MONTH, event_observed=events.astype(bool), label=label)
    return kmf


def at_months(curve: Curve, n: int, events: int) -> list[dict]:
    kmf = curve.fitter
    survival = kmf.survival_function_at_times(list(MONTHS)).to_numpy()
    ci = kmf.confidence_interval_survival_function_
    durations = np.asarray(kmf.durations)
    rows = []
    for month, s in zip(MONTHS, survival, strict=True):
        # The CI at t is the one of the last step at or before t (a step function, like the estimate).
        idx = ci.index[ci.index <= month]
        lower, upper = (ci.loc[idx[-1]].to_numpy() if len(idx) else (1.0, 1.0))
        rows.append({"endpoint": curve.endpoint, "group": curve.group, "month": month,
                     "n_at_risk": int((durations >= month).sum()), "survival": float(s),
                     "ci_lower": float(lower), "ci_upper": float(upper)})
    return rows


def summary_row(curve: Curve, n: int, events: int) -> dict:
    median = curve.fitter.median_survival_time_
    return {"endpoint": curve.endpoint, "group": curve.group, "patients": n, "events": events,
            "median_months": None if not np.isfinite(median) else float(median)}


def km_tables(frame: pd.DataFrame, *, groups: tuple[str, ...], group_column: str) -> tuple[pd.DataFrame, pd.DataFrame, list[Curve]]:
    """OS and EFS, overall and per group: the at-months table, the summary, and the fitted curves for plots.

    `frame` has os_days, os_event, efs_days, efs_event and `group_column`.
    """
    points, summaries, curves = [], [], []
    for endpoint in ("OS", "EFS"):
        days, event = f"{endpoint.lower()}_days", f"{endpoint.lower()}_event"
        subsets = [("all", frame)] + [(g, frame[frame[group_column] == g]) for g in groups]
        for group, subset in subsets:
            if subset.empty:
                continue
            curve = Curve(endpoint, group, fit(subset[days], subset[event], label=f"{endpoint} {group}"))
            n, events = len(subset), int(subset[event].sum())
            points += at_months(curve, n, events)
            summaries.append(summary_row(curve, n, events))
            curves.append(curve)
    columns = ["endpoint", "group", "month", "n_at_risk", "survival", "ci_lower", "ci_upper"]
    return (pd.DataFrame(points, columns=columns),
            pd.DataFrame(summaries, columns=["endpoint", "group", "patients", "events", "median_months"]), curves)
