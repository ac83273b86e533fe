"""The formats a report leaves the platform in: JSON (API), CSV per section, XLSX, PDF.

CSV is the diffable format: cells are written by one function (fixed float precision, ISO dates, empty for
missing), rows in the order the builder fixed, and nothing time-dependent, so the same parameters over the
same data give the same bytes.
"""
import base64
import csv
import io
import logging
import math
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from reports.document import Report, Section

FLOAT_DIGITS = 4


def cell(value: Any) -> str | int | float | bool | None:
    """A JSON-safe cell: NaN/None as None, numpy scalars as Python, dates as ISO text, floats rounded."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, FLOAT_DIGITS)
    if isinstance(value, Decimal):
        return round(float(value), FLOAT_DIGITS)
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    return value


def _csv_text(value: Any) -> str:
    value = cell(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.{FLOAT_DIGITS}f}"
    return str(value)


def section_rows(section: Section) -> list[list[Any]]:
    return [[cell(v) for v in row] for row in section.frame.itertuples(index=False, name=None)]


def to_json(report: Report) -> dict[str, Any]:
    return {
        "kind": report.kind, "title": report.title, "params": report.params, "notes": report.notes,
        "sections": [{"key": s.key, "title": s.title, "note": s.note, "columns": [str(c) for c in s.frame.columns],
                      "rows": section_rows(s)} for s in report.sections],
    }


def to_csv(section: Section) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([str(c) for c in section.frame.columns])
    for row in section.frame.itertuples(index=False, name=None):
        writer.writerow([_csv_text(v) for v in row])
    return out.getvalue().encode("utf-8")


def _sheet_title(key: str, used: set[str]) -> str:
    title = key[:31]
    n = 2
    while title in used:
        suffix = f"_{n}"
        title, n = key[: 31 - len(suffix)] + suffix, n + 1
    used.add(title)
    return title


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    about = book.active
    about.title = "about"
    about.append([report.title])
    about["A1"].font = Font(bold=True)
    for key, value in sorted(report.params.items()):
        about.append([key, str(value)])
    for note in report.notes:
        about.append([note])
    used = {"about"}
    for section in report.sections:
        sheet = book.create_sheet(_sheet_title(section.key, used))
        sheet.append([str(c) for c in section.frame.columns])
        for c in sheet[1]:
            c.font = Font(bold=True)
        for row in section_rows(section):
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


PDF_MAX_ROWS = 400
PDF_CSS = """
@page { size: A4 landscape; margin: 14mm; @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 8.5pt; }
h1 { font-size: 15pt; } h2 { font-size: 11pt; margin-top: 14pt; }
table { border-collapse: collapse; margin-bottom: 6pt; } th, td { border: 0.4pt solid #888; padding: 1.5pt 4pt; }
th { background: #eee; } td.n { text-align: right; } p.note { color: #444; font-style: italic; }
img { max-width: 100%; max-height: 150mm; }
"""


def _html_table(section: Section) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in section.frame.columns)
    body = []
    for row in section.frame.head(PDF_MAX_ROWS).itertuples(index=False, name=None):
        cells = []
        for v in row:
            text = _csv_text(v)
            numeric = isinstance(cell(v), int | float) and not isinstance(v, bool)
            cells.append(f"<td class='n'>{escape(text)}</td>" if numeric else f"<td>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = len(section.frame) - PDF_MAX_ROWS
    tail = f"<p class='note'>{more} more rows in the CSV and XLSX files.</p>" if more > 0 else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{tail}"


def to_html(report: Report) -> str:
    parts = [f"<h1>{escape(report.title)}</h1>",
             "<p>" + "; ".join(f"{escape(k)}: {escape(str(v))}" for k, v in sorted(report.params.items())) + "</p>"]
    parts += [f"<p class='note'>{escape(n)}</p>" for n in report.notes]
    for section in report.sections:
        parts.append(f"<h2>{escape(section.title)}</h2>")
        if section.note:
            parts.append(f"<p class='note'>{escape(section.note)}</p>")
        parts.append(_html_table(section) if len(section.frame) else "<p class='note'>No rows.</p>")
    for figure in report.figures:
        data = base64.b64encode(figure.png).decode("ascii")
        parts.append(f"<h2>{escape(figure.title)}</h2><img src='data:image/png;base64,{data}'/>")
    return f"<html><head><meta charset='utf-8'><style>{PDF_CSS}</style></head><body>{''.join(parts)}</body></html>"


def to_pdf(report: Report) -> bytes:
    # English only: no CJK font is installed where reports are rendered, so Chinese text would print as boxes.
    from weasyprint import HTML

    # Both log every page and every font subset at INFO: noise in the worker's log, nothing to act on.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.WARNING)

    return HTML(string=to_html(report)).write_pdf()
