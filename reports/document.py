"""What a report builder produces, before any format: tidy tables (one per section), figures and notes."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas loads with the first report built, not with the URLconf (tests/test_lazy_imports.py)
    import pandas as pd

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Section:
    """One tidy table: one row per key (group, subject, subject and event, ...), one column per variable.

    `key` names the CSV file and the XLSX sheet; rows must already be in their final, stable order.
    """

    key: str
    title: str
    frame: pd.DataFrame
    note: str = ""


@dataclass(frozen=True)
class Figure:
    """One figure, drawn once (reports.plots.Drawing): PNG in the PDF, SVG on the report page (stored as `<key>.svg`)."""

    key: str
    title: str
    drawing: Any

    @property
    def png(self) -> bytes:
        return bytes(self.drawing.png)

    @property
    def svg(self) -> bytes:
        return bytes(self.drawing.svg)


@dataclass
class Report:
    kind: str
    title: str
    params: dict[str, Any]
    sections: list[Section] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The language of the PDF's headings: "en" or "zh-hans" (the data, the CSV and the XLSX are the same in both).
    language: str = "en"

    def add(self, key: str, title: str, frame: pd.DataFrame, note: str = "") -> None:
        self.sections.append(Section(key, title, frame.reset_index(drop=True), note))

    @property
    def row_counts(self) -> dict[str, int]:
        return {s.key: len(s.frame) for s in self.sections}
