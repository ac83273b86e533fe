"""Helpers shared by the builders: category counts in a fixed order, quantile summaries, age bands."""
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

# Age at diagnosis in months: infants, the 12-18 month prognostic cut (INRG), children, and 5 years and over.
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (("<12", 0, 12), ("12-<18", 12, 18), ("18-<60", 18, 60), (">=60", 60, None))
AGE_BAND_LABELS = tuple(label for label, _, _ in AGE_BANDS)


def age_band(months: pd.Series) -> pd.Series:
    bins = [low for _, low, _ in AGE_BANDS] + [np.inf]
    return pd.cut(months.astype(float), bins=bins, right=False, labels=AGE_BAND_LABELS).astype(str)


def category_counts(frame: pd.DataFrame, column: str, order: Sequence[str], *, name: str | None = None) -> pd.DataFrame:
    """Patients per category, every category of `order` listed (zeros included), then any unexpected value sorted."""
    counts = frame[column].fillna("").astype(str).value_counts()
    labels = list(order) + sorted(set(counts.index) - set(order))
    total = int(counts.sum())
    rows = [{name or column: label, "patients": int(counts.get(label, 0)),
             "percent": 100.0 * counts.get(label, 0) / total if total else None} for label in labels]
    return pd.DataFrame(rows, columns=[name or column, "patients", "percent"])


def quantiles(values: Iterable[float]) -> dict[str, float | None]:
    arr = np.asarray([v for v in values if v is not None and not pd.isna(v)], dtype=float)
    if arr.size == 0:
        return {"median": None, "q1": None, "q3": None}
    q1, median, q3 = np.percentile(arr, [25, 50, 75])
    return {"median": float(median), "q1": float(q1), "q3": float(q3)}


def codes(codelist) -> list[str]:  # type: ignore[no-untyped-def]
    return [value for value, _ in codelist.choices]
