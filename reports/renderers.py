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

from reports import display
from reports.document import Report, Section

FLOAT_DIGITS = 4


def cell(value: Any) -> str | int | float | bool | None:
    """A JSON-safe cell: NaN/None as None, numpy scalars as Python, dates as ISO text, floats rounded."""
    import numpy as np  # with the first report, not with the URLconf (tests/test_lazy_imports.py)
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, FLOAT_DIGITS)
    if isinstance(value, Decimal):
        return round(float(value), FLOAT_DIGITS)
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat(timespec="seconds")  # microseconds are noise to a reader and to a diff
    if isinstance(value, date):
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
        # The figures' keys and titles; each is stored as <key>.svg with the run's files.
        "figures": [{"key": f.key, "title": f.title} for f in report.figures],
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
    """The workbook: an "about" sheet, then a sheet per section (named by its key, as the CSV files are) with headings
    in the report's language over the same values as the CSV; percentages show one decimal (the cell keeps the value).
    The "about" sheet lists each sheet's headings against the CSV's column keys."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    about = book.active
    about.title = "about"
    about.append([report.title])
    about["A1"].font = Font(bold=True)
    for label, value in display.param_items(dict(sorted(report.params.items())), report.language):
        about.append([label, value])
    for note in report.notes:
        about.append([display.note(note, report.language)])
    used = {"about"}
    key_rows = []
    for section in report.sections:
        sheet = book.create_sheet(_sheet_title(section.key, used))
        columns = [str(c) for c in section.frame.columns]
        sheet.append([display.column_label(c, report.language) for c in columns])
        key_rows += [[sheet.title, display.column_label(c, report.language), c] for c in columns]
        for c in sheet[1]:
            c.font = Font(bold=True)
        for row in section_rows(section):
            sheet.append(row)
        for index, column in enumerate(columns, start=1):
            if "percent" in column:
                for (xl_cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    xl_cell.number_format = "0.0"
    about.append([])
    about.append(["sheet", "heading", "CSV column"])
    for row in key_rows:
        about.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


PDF_MAX_ROWS = 400
# Tables with more columns than this are set smaller, so most listings still read one row to a line.
WIDE_TABLE_COLUMNS = 10
PDF_MARGIN_MM = 14
PDF_CSS = """
@page { size: A4 landscape; margin: PAGE_MARGIN; @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 8.5pt; }
h1 { font-size: 15pt; } h2 { font-size: 11pt; margin-top: 14pt; }
table { border-collapse: collapse; margin-bottom: 6pt; } th, td { border: 0.4pt solid #888; padding: 1.5pt 4pt; }
/* A table never runs off the page: its cells may break anywhere (column names break after "_", see _html_table), so
   the table's narrowest layout fits the width and a wide listing wraps instead of losing its last columns. */
th, td { overflow-wrap: anywhere; } table.wide { font-size: 7pt; } table.wide th, table.wide td { padding: 1pt 2pt; }
th { background: #eee; } td.n { text-align: right; } p.note { color: #444; font-style: italic; }
img { max-width: 100%; max-height: 150mm; }
""".replace("PAGE_MARGIN", f"{PDF_MARGIN_MM}mm")
# Chinese: Noto Sans CJK (Debian fonts-noto-cjk, installed by `make browser` and in the image); DejaVu keeps the Latin.
ZH_CSS = """
@page { @bottom-right { content: "第 " counter(page) " 页，共 " counter(pages) " 页"; font-family: "Noto Sans CJK SC", sans-serif; } }
body { font-family: "Noto Sans CJK SC", "DejaVu Sans", sans-serif; }
"""


LANGUAGES = ("en", "zh-hans")
# Chinese headings of the PDF, by report kind, section key and figure key. Kept here rather than in the gettext
# catalogue: the headings are chosen by the run's `language` parameter, not by the language of whoever is logged in,
# and a run is rendered in a worker with no request. Column names stay as in the CSV (they are the data's keys).
ZH_TITLES = {
    "cohort": "登记队列报告", "trial": "试验报告", "diagnostic": "诊断效能报告",
    "patients_by_hospital": "按医院统计的患者", "patients_by_province": "按省份统计的患者",
    "patients_by_diagnosis_year": "按诊断年份统计的患者", "patients_by_inrgss_stage": "按 INRGSS 分期统计的患者",
    "patients_by_inrg_risk": "按 INRG 危险度分组统计的患者", "patients_by_cog_risk": "按 COG 危险度分组统计的患者",
    "patients_by_mycn": "按 MYCN 状态统计的患者", "patients_by_age_band": "按诊断时年龄（月）统计的患者",
    "consent_states": "参考日期的登记知情同意状态", "follow_up_completeness": "各医院随访完成情况",
    "survival_summary": "总生存与无事件生存：患者数、事件数、中位数", "survival_at_months": "Kaplan-Meier 估计值、风险人数及 95% 置信区间",
    "imaging_volume": "按年份、示踪剂和医院统计的影像检查", "dose_per_child": "每名患儿的累积有效剂量（mSv）",
    "dose_per_exam_type": "按检查类型统计的有效剂量（mSv）",
    "units": "单位及其参考标准与判读", "two_by_two": "相对参考标准的四格表", "accuracy": "灵敏度与特异度（Wilson 95% 置信区间）",
    "mcnemar": "两种方法之间的 McNemar 检验（配对单位）",
    "accrual_by_site": "各中心入组与目标", "accrual_by_month": "各中心每月入组", "consort_flow": "CONSORT 流程",
    "baseline_by_arm": "各组人口学与基线疾病特征", "age_by_arm": "各组入组时年龄（月）", "dosing_listing": "给药活度与推荐活度对照",
    "dosing_compliance_by_arm": "各组给药依从性", "ae_by_soc_term": "按系统器官分类和术语统计的不良事件",
    "ae_max_grade": "按术语统计的受试者最高 CTCAE 分级", "ae_by_relatedness": "按相关性（研究者判断）统计的不良事件",
    "sae_listing": "严重不良事件及其报告时限", "open_queries_by_site": "各中心未关闭的数据质疑", "image_quality_by_arm": "各组盲法图像质量判读",
    "dose_hist": "每名患儿的累积有效剂量",
    "km_os": "按 INRG 危险度分组的 Kaplan-Meier 总生存", "km_efs": "按 INRG 危险度分组的 Kaplan-Meier 无事件生存",
    "accrual": "累计入组与目标", "ae_soc": "按系统器官分类统计的不良事件",
    "lowdose_validation": "低剂量验证报告", "conclusions": "预先声明的验收标准结论", "metric_distributions": "已评估配对的指标分布",
    "suv_agreement": "病灶 VOI 的 SUV 一致性（Bland-Altman）", "reader_results": "阅片研究：图像质量与病灶可检出性",
    "pairs": "已评估配对及其存储的指标", "lesion_vois": "病灶 VOI：参考与测试的 SUV 及存储的偏倚",
    "bland_altman": "Bland-Altman：病灶 SUV，测试相对参考",
    "dose_saving": "剂量节省报告", "saving_overall": "全项目的剂量节省", "saving_by_tracer": "按示踪剂统计的剂量节省",
    "saving_by_hospital": "按医院统计的剂量节省", "saving_by_year": "按年份统计的剂量节省",
    "saving_by_tracer_hospital_year": "按示踪剂、医院和年份统计的剂量节省", "saving_by_year_plot": "按年份统计的节省总量",
}
ZH_WORDS = {"no_rows": "无数据。", "more_rows": "其余 {n} 行见 CSV 和 XLSX 文件。"}


def _heading(report: Report, key: str, english: str) -> str:
    """The heading in the report's language; the English one when no Chinese title is known (never an empty heading)."""
    return ZH_TITLES.get(key, english) if report.language == "zh-hans" else english


def _html_table(section: Section, language: str = "en") -> str:
    """The section as the PDF shows it: headings and coded values as labels, percentages to one decimal, times in local
    time (reports.display); long headings may break after "_" or a space."""
    columns = [str(c) for c in section.frame.columns]
    rows = [[cell(v) for v in row] for row in section.frame.head(PDF_MAX_ROWS).itertuples(index=False, name=None)]
    heads, cells_ = display.table(columns, rows, language)
    head = "".join(f"<th>{escape(h).replace('_', '_<wbr>')}</th>" for h in heads)
    body = []
    for row in cells_:
        body.append("<tr>" + "".join(f"<td class='n'>{escape(text)}</td>" if numeric else f"<td>{escape(text)}</td>"
                                     for text, numeric in row) + "</tr>")
    more = len(section.frame) - PDF_MAX_ROWS
    tail = f"<p class='note'>{more} more rows in the CSV and XLSX files.</p>" if more > 0 else ""
    wide = " class='wide'" if len(section.frame.columns) > WIDE_TABLE_COLUMNS else ""
    return f"<table{wide}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{tail}"


def _title(report: Report) -> str:
    """The PDF's title. In Chinese, the kind's Chinese title without the builder's English subtitle ("... as of
    <date>", "Trial report <code> ..."): the date and the trial are on the parameters line under it. Only the
    diagnostic and low-dose validation reports' subtitles carry data the parameters do not (the comparison's or the
    protocol's name, as its users typed it)."""
    if report.language != "zh-hans" or report.kind not in ZH_TITLES:
        return report.title
    named = {"diagnostic", "lowdose_validation"}  # their subtitle is a comparison's or a protocol's name, as typed
    name = report.title.split(": ", 1)[1] if report.kind in named and ": " in report.title else ""
    return f"{ZH_TITLES[report.kind]}（{name}）" if name else ZH_TITLES[report.kind]


def to_html(report: Report) -> str:
    zh = report.language == "zh-hans"
    title = _title(report)
    params = display.param_items(dict(sorted(report.params.items())), report.language)
    parts = [f"<h1>{escape(title)}</h1>", "<p>" + "; ".join(f"{escape(k)}: {escape(v)}" for k, v in params) + "</p>"]
    parts += [f"<p class='note'>{escape(display.note(n, report.language))}</p>" for n in report.notes]
    for section in report.sections:
        parts.append(f"<h2>{escape(_heading(report, section.key, section.title))}</h2>")
        if section.note:
            parts.append(f"<p class='note'>{escape(display.note(section.note, report.language))}</p>")
        table = _html_table(section, report.language)
        if zh:
            more = len(section.frame) - PDF_MAX_ROWS
            table = table.replace(f"{more} more rows in the CSV and XLSX files.", ZH_WORDS["more_rows"].format(n=more))
        no_rows = ZH_WORDS["no_rows"] if zh else "No rows."
        parts.append(table if len(section.frame) else f"<p class='note'>{no_rows}</p>")
    for figure in report.figures:
        data = base64.b64encode(figure.png).decode("ascii")
        parts.append(f"<h2>{escape(_heading(report, figure.key, figure.title))}</h2><img src='data:image/png;base64,{data}'/>")
    css = PDF_CSS + (ZH_CSS if zh else "")
    lang = "zh-Hans" if zh else "en"
    return f"<html lang='{lang}'><head><meta charset='utf-8'><style>{css}</style></head><body>{''.join(parts)}</body></html>"


def cjk_font_installed() -> bool:
    """Whether fontconfig knows a Chinese font (without one, Chinese headings would print as empty boxes)."""
    import shutil
    import subprocess

    if not shutil.which("fc-list"):
        return False
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False, timeout=30)
    return "Noto Sans CJK" in found.stdout


def to_pdf(report: Report) -> bytes:
    # Chinese headings need a CJK font (fonts-noto-cjk): without one they would print as empty boxes.
    if report.language == "zh-hans" and not cjk_font_installed():
        logging.getLogger(__name__).warning("no CJK font installed: the Chinese headings of the PDF will not render")
    from weasyprint import HTML

    # Both log every page and every font subset at INFO: noise in the worker's log, nothing to act on.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.WARNING)

    return HTML(string=to_html(report)).write_pdf()
