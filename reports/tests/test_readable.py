"""Reports a person can read (issue 17): the PDF's figures on the run's page as SVG, labels instead of codes on the page,
in the PDF and in the XLSX headings (in both languages), percentages to one decimal, times in local time without
microseconds, age bands with their unit, and a progress indicator while a run is requested and built. The CSV keeps the
data's codes and full precision (it is for analysis)."""
import io
import re
import shutil
import subprocess
from datetime import UTC, datetime
from html import unescape

import pytest
from django.urls import reverse

from reports import display
from reports.models import ReportRun
from reports.tests.helpers import AS_OF, csv_text, file_bytes, generate, make_cohort
from reports.tests.trial_helpers import make_trial_world

pytestmark = pytest.mark.django_db


def visible_text(html: str) -> str:
    """What the reader sees: the page without its tags and attributes (URLs and test ids carry keys by design)."""
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)))


def test_labels_numbers_times_and_age_bands() -> None:
    assert display.cell_text("inrg_risk", "very_low", "en") == "Very low"
    assert display.cell_text("inrg_risk", "very_low", "zh-hans") == "极低危"
    assert display.cell_text("tracer", "GA68_DOTATATE", "en") == "68Ga-DOTATATE"
    assert display.cell_text("modality_group", "spect_ct", "en") == "SPECT/CT"
    assert display.cell_text("modality_group", "planar", "zh-hans") != "planar"
    assert display.cell_text("cog_risk", "", "en") == "Not recorded"
    assert display.cell_text("age_band", "12-<18", "en") == "12 to <18 months"
    assert display.cell_text("age_band", ">=60", "zh-hans") == "≥60 个月"
    # Baseline rows: the category's code list is the row's variable ("M" is a sex there, a stage elsewhere).
    assert display.cell_text("category", "M", "en", row={"variable": "sex"}) == "Male"
    assert display.cell_text("category", "M", "en", row={"variable": "inrgss_stage"}) == "M"
    assert display.cell_text("variable", "inrg_risk", "en") == "INRG risk group"
    assert display.cell_text("percent", 33.33333, "en") == "33.3"
    assert display.cell_text("completeness_percent", 100.0, "en") == "100.0"
    assert display.cell_text("survival", 0.8571, "en") == "0.857"
    assert display.cell_text("is_susar", True, "zh-hans") == "是"
    # An aware time (as the JSON result carries it) in the platform's zone (Asia/Shanghai), to the minute.
    assert display.cell_text("due_at", "2026-07-02T08:00:00.123456+00:00", "en") == "2026-07-02 16:00"
    assert display.cell_text("due_at", datetime(2026, 7, 2, 8, 0, 0, 999, tzinfo=UTC), "en") == "2026-07-02 16:00"
    assert display.cell_text("onset_date", "2026-07-01", "en") == "2026-07-01"
    assert display.column_label("percent_of_arm", "en") == "% of arm"
    assert display.column_label("subjects", "zh-hans") == "受试者数"
    assert display.column_label("no_such_column", "en") == "no such column"


def test_the_same_figure_gives_the_same_svg_bytes() -> None:
    import pandas as pd

    from reports import plots

    frame = pd.DataFrame({"site": [1, 1, 2], "month": ["2026-01", "2026-02", "2026-01"], "enrolled": [1, 2, 1],
                          "cumulative": [1, 3, 1]})
    first, second = plots.accrual_plot(frame, 10), plots.accrual_plot(frame, 10)
    assert first.svg == second.svg and first.svg.lstrip().startswith(b"<?xml") and b"<svg" in first.svg
    assert first.png[:4] == b"\x89PNG"
    assert b"<script" not in first.svg and not re.search(rb'href="(?!#)', first.svg)  # nothing to run, nothing to load


@pytest.fixture
def cohort_run(actors, eager, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    make_cohort(actors)
    return generate(actors.data_manager, "cohort", {"as_of": AS_OF.isoformat()}, django_capture_on_commit_callbacks)


def test_the_cohort_page_shows_the_pdfs_figures_and_readable_tables(client, actors, cohort_run,
                                                                    django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    run = cohort_run
    stored = {f.name for f in run.files.filter(format="svg")}
    assert stored == {"km_os.svg", "km_efs.svg", "dose_hist.svg"}  # the figures the PDF has
    client.force_login(actors.data_manager)
    with django_assert_max_num_queries(12):  # the run, its files, the session and user: not one per section or figure
        page = client.get(reverse("web-report-detail", args=[run.pk]))
    html = page.content.decode()
    keys = [k for k, _ in page.context["figures"]]
    assert keys[:3] == ["km_os", "km_efs", "dose_hist"] and "patients_by_inrg_risk" in keys
    for key in ("km_os", "km_efs", "dose_hist"):
        assert reverse("web-report-figure", args=[run.pk, key]) in html
        figure = client.get(reverse("web-report-figure", args=[run.pk, key]))
        assert figure["Content-Type"] == "image/svg+xml" and "default-src 'none'" in figure["Content-Security-Policy"]
        assert figure.content == file_bytes(run, f"{key}.svg")  # exactly what the run stored with its PDF
    drawn = client.get(reverse("web-report-figure", args=[run.pk, "patients_by_inrg_risk"]))
    assert drawn["Content-Type"] == "image/svg+xml" and b"<svg" in drawn.content

    text = visible_text(html.split('data-testid="tables"')[1])  # the tables (the downloads list file names, by design)
    for label in ("Very low", "Intermediate", "Not amplified", "<12 months", "12 to <18 months", "≥60 months", "18F-FDG",
                  "123I-MIBG (iobenguane)", "SPECT/CT", "INRG risk group", "Patients", "Overall survival", "Consented"):
        assert label in text, label
    for code in ("very_low", "not_amplified", "F18_FDG", "I123_MIBG", "spect_ct", "inrg_risk", "no_valid_consent"):
        assert code not in text, code
    risk = page.context["sections"][[s["key"] for s in page.context["sections"]].index("patients_by_inrg_risk")]
    assert risk["heads"] == ["INRG risk group", "Patients", "%"]
    assert [cell for cell, _n in risk["rows"][0]] == ["Very low", "1", "25.0"]
    percents = [row[-1][0] for s in page.context["sections"] if s["key"].startswith("patients_by_") and s["heads"][-1] == "%"
                for row in s["rows"] if row[-1][0]]
    assert percents and all(re.fullmatch(r"\d+\.\d", p) for p in percents), percents
    params = visible_text(html.split('data-testid="params"')[1].split("</ul>")[0])
    assert "As of: 2023-06-30" in params and "as_of" not in params  # the parameters read as labels too

    zh = visible_text(client.get(reverse("web-report-detail", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode())
    for label in ("极低危", "未扩增", "<12 个月", "患者数", "按 INRG 危险度分组统计的患者", "截至日期"):
        assert label in zh, label


def test_the_cohort_csv_keeps_codes_and_precision_and_the_xlsx_has_labelled_headings(cohort_run) -> None:
    from openpyxl import load_workbook

    csv = csv_text(cohort_run, "patients_by_inrg_risk")
    assert csv.splitlines()[:2] == ["inrg_risk,patients,percent", "very_low,1,25.0000"]
    assert "<12,1,25.0000" in csv_text(cohort_run, "patients_by_age_band")
    book = load_workbook(io.BytesIO(file_bytes(cohort_run, "cohort.xlsx")))
    sheet = book["patients_by_inrg_risk"]
    assert [c.value for c in sheet[1]] == ["INRG risk group", "Patients", "%"]
    assert sheet["A2"].value == "very_low" and sheet["C2"].value == 25.0 and sheet["C2"].number_format == "0.0"
    about = [tuple(r) for r in book["about"].iter_rows(values_only=True)]
    assert ("patients_by_inrg_risk", "INRG risk group", "inrg_risk") in about  # headings against the CSV's keys


def test_the_pdf_reads_labels_and_one_decimal_percentages(actors, real_pdf, cohort_run) -> None:  # type: ignore[no-untyped-def]
    from conftest import require

    require(shutil.which("pdftotext") is not None, "needs pdftotext (poppler-utils): make pdf-tools")
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=file_bytes(cohort_run, "cohort.pdf"), capture_output=True,
                          check=True, timeout=120).stdout.decode()
    for label in ("Very low", "Not amplified", "<12 months", "≥60 months", "INRG risk group", "18F-FDG", "As of: 2023-06-30"):
        assert label in text, label
    assert "very_low" not in text and "not_amplified" not in text and "F18_FDG" not in text
    assert re.search(r"Very low\s+1\s+25\.0\b", text) and "25.0000" not in text


def test_the_trial_page_shows_labels_and_local_times(client, actors, eager, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    world = make_trial_world(actors)
    run = generate(actors.sponsor, "trial", {"trial": world.trial.pk}, django_capture_on_commit_callbacks)
    assert {f.name for f in run.files.filter(format="svg")} == {"accrual.svg", "ae_soc.svg"}
    listing = csv_text(run, "sae_listing")
    assert "2026-07-02T08:00:00+00:00" in listing and not re.search(r"T\d\d:\d\d:\d\d\.\d", listing)  # CSV: UTC, no µs
    client.force_login(actors.sponsor)
    page = client.get(reverse("web-report-detail", args=[run.pk]))
    html = page.content.decode()
    assert reverse("web-report-figure", args=[run.pk, "accrual"]) in html and reverse("web-report-figure", args=[run.pk, "ae_soc"]) in html
    text = visible_text(html.split('data-testid="tables"')[1])
    # The SAE's site clock was due 2026-07-02 08:00 UTC: 16:00 in the platform's zone (Asia/Shanghai), to the minute.
    assert "2026-07-02 16:00" in text and "08:00:00" not in text
    for label in ("18F-NaF (sodium fluoride)", "Probable", "Patients screened", "Subject", "Net activity (MBq)", "Yes", "No"):
        assert label in text, label
    for code in ("F18_NAF", "screened_patients", "net_activity_mbq", "site_24h"):
        assert code not in text, code
    sites = next(s for s in page.context["sections"] if s["key"] == "accrual_by_site")
    percent = [row[-1][0] for row in sites["rows"] if row[-1][0]]
    assert percent and all(re.fullmatch(r"\d+\.\d", p) for p in percent)


def test_a_run_being_built_shows_its_progress_and_the_form_shows_it_is_sending(client, actors) -> None:  # type: ignore[no-untyped-def]
    run = ReportRun.objects.create(kind="cohort", params={"as_of": AS_OF.isoformat()}, requested_by=actors.investigator_a)
    client.force_login(actors.investigator_a)
    html = client.get(reverse("web-report-progress", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and "Waiting to start" in html and 'data-testid="run-progress"' in html
    ReportRun.objects.filter(pk=run.pk).update(status=ReportRun.Status.RUNNING, progress=55, started_at=run.created_at)
    html = client.get(reverse("web-report-detail", args=[run.pk])).content.decode()
    assert 'aria-valuenow="55"' in html and "Building:" in html and "progress-bar-animated" in html
    form = client.get(reverse("web-report-new", args=["cohort"])).content.decode()
    assert 'data-testid="run-submitting"' in form and "hidden" in form.split('data-testid="run-submitting"')[1][:20]
    assert 'addEventListener("submit"' in form
