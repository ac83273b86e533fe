"""The notes a report builder writes (issue 17, Broken 5 leftover) read in the reader's language: the builders store
their fixed notes in English as catalogue message ids, and the page, the PDF and the XLSX "about" sheet translate them
where they are shown. Stored English with no catalogue entry (runs stored before, notes carrying data) reads as stored."""
import io
import re
import shutil
import subprocess

import pytest
from django.urls import reverse

from reports import display
from reports.models import ReportRun
from reports.renderers import cjk_font_installed
from reports.tests.helpers import AS_OF, file_bytes, generate, make_cohort

pytestmark = pytest.mark.django_db

# Fixed English notes of a cohort report on the test cohort (report note and section notes), and their Chinese.
ENGLISH = ["De-identified aggregates.", "Empty: COG risk group not recorded.", "the family asked for no further contact",
           "Due: scheduled visits whose window closed", "Kaplan-Meier (lifelines), months from diagnosis",
           "CI: exponential Greenwood.", "Sum over the child's imaging exams", "complete = both the radiopharmaceutical"]
CHINESE = ["已去标识化的汇总数据。", "空白：未记录 COG 危险度分组。", "家属要求不再联系", "应随访：窗口期在参考日期前已结束的计划随访",
           "自诊断起的月数；分组为 INRG 危险度分组。", "CI：指数 Greenwood 法。", "为患儿已计算有效剂量的影像检查之和",
           "完整 = 放射性药物部分和 CT 部分均已知。"]


def squeeze(text: str) -> str:
    """Text without white space (pdftotext breaks a note's lines where the PDF wraps them)."""
    return re.sub(r"\s+", "", text)


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S))


@pytest.fixture
def zh_run(actors, eager, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    make_cohort(actors)
    return generate(actors.data_manager, "cohort", {"as_of": AS_OF.isoformat(), "language": "zh-hans"},
                    django_capture_on_commit_callbacks)


def test_every_stored_note_of_a_cohort_run_has_a_chinese_text(zh_run) -> None:  # type: ignore[no-untyped-def]
    result = zh_run.result
    notes = [*result["notes"], *(s["note"] for s in result["sections"] if s["note"])]
    assert len(notes) >= 8
    for note in notes:
        assert not re.search(r"[\u4e00-\u9fff]", note), note  # stored in English (the JSON is the same in both languages)
        chinese = display.note(note, "zh-hans")
        assert chinese != note and re.search(r"[\u4e00-\u9fff]", chinese), note
        assert display.note(note, "en") == note


def test_the_zh_page_shows_the_notes_in_chinese_and_the_english_page_in_english(client, actors, zh_run) -> None:  # type: ignore[no-untyped-def]
    client.force_login(actors.data_manager)
    zh = visible_text(client.get(reverse("web-report-detail", args=[zh_run.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
                      .content.decode()).replace("&#x27;", "'")
    for text in CHINESE:
        assert text in zh, text
    for text in ENGLISH:
        assert text not in zh, text
    en = visible_text(client.get(reverse("web-report-detail", args=[zh_run.pk]), HTTP_ACCEPT_LANGUAGE="en")
                      .content.decode()).replace("&#x27;", "'")
    for text in ENGLISH:
        assert text in en, text


def test_a_stored_note_without_a_catalogue_entry_reads_as_stored(client, actors, zh_run) -> None:  # type: ignore[no-untyped-def]
    """Runs stored before the notes were marked, or a note carrying data, keep their English."""
    result = dict(zh_run.result)
    result["notes"] = ["An older note, written before the notes were translated.", *result["notes"]]
    ReportRun.objects.filter(pk=zh_run.pk).update(result=result)
    client.force_login(actors.data_manager)
    zh = client.get(reverse("web-report-detail", args=[zh_run.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "An older note, written before the notes were translated." in zh and "已去标识化的汇总数据。" in zh


def test_the_zh_xlsx_about_sheet_has_the_chinese_note(zh_run) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    about = [r[0] for r in load_workbook(io.BytesIO(file_bytes(zh_run, "cohort.xlsx")))["about"].iter_rows(values_only=True)]
    assert any(isinstance(v, str) and v.startswith("已去标识化的汇总数据。") for v in about), about
    assert not any(isinstance(v, str) and v.startswith("De-identified aggregates.") for v in about)


@pytest.mark.skipif(not cjk_font_installed(), reason="no CJK font (fc-list :lang=zh finds no Noto Sans CJK): install fonts-noto-cjk")
def test_the_zh_pdf_shows_the_notes_in_chinese(actors, real_pdf, eager, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    from conftest import require

    require(shutil.which("pdftotext") is not None, "needs pdftotext (poppler-utils): make pdf-tools")
    make_cohort(actors)
    run = generate(actors.data_manager, "cohort", {"as_of": AS_OF.isoformat(), "language": "zh-hans"},
                   django_capture_on_commit_callbacks)
    text = squeeze(subprocess.run(["pdftotext", "-", "-"], input=file_bytes(run, "cohort.pdf"), capture_output=True,
                                  check=True, timeout=120).stdout.decode())
    for note in CHINESE:
        assert squeeze(note) in text, note
    for note in ENGLISH:
        assert squeeze(note) not in text, note


@pytest.mark.skipif(not cjk_font_installed(), reason="no CJK font (fc-list :lang=zh finds no Noto Sans CJK): install fonts-noto-cjk")
def test_a_zh_runs_figures_are_drawn_in_chinese_and_an_english_runs_in_english(zh_run, actors,
                                                                               django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """Matplotlib writes each text of an SVG as a comment over its glyph paths: the words are checked there."""
    def words(run: ReportRun, key: str) -> list[str]:
        return re.findall(r"<!-- ([^>]*?) -->", file_bytes(run, f"{key}.svg").decode())

    assert "自诊断起的月数" in words(zh_run, "km_os") and "总生存概率" in words(zh_run, "km_os")
    assert "极低危" in words(zh_run, "km_os") and "数量" in words(zh_run, "dose_hist")
    assert "Months from diagnosis" not in words(zh_run, "km_os")
    english = generate(actors.data_manager, "cohort", {"as_of": AS_OF.isoformat()}, django_capture_on_commit_callbacks)
    assert "Months from diagnosis" in words(english, "km_os") and "Very low" in words(english, "km_os")
    assert not any(re.search(r"[\u4e00-\u9fff]", w) for w in words(english, "km_os"))


def test_without_a_chinese_font_a_zh_figure_is_drawn_in_english(monkeypatch) -> None:
    from reports import plots

    monkeypatch.setattr(plots, "cjk_family", lambda: None)  # fontconfig finding no Chinese font (cannot be uninstalled here)
    svg = plots.histogram([1.0, 2.0, 3.0], xlabel="mSv", language="zh-hans").svg.decode()
    assert "Count" in re.findall(r"<!-- ([^>]*?) -->", svg) and "数量" not in svg


@pytest.mark.skipif(not cjk_font_installed(), reason="no CJK font (fc-list :lang=zh finds no Noto Sans CJK): install fonts-noto-cjk")
def test_the_trial_figures_words_in_chinese() -> None:
    import pandas as pd

    from reports import plots

    frame = pd.DataFrame({"site": ["01", "01"], "month": ["2024-01", "2024-02"], "enrolled": [1, 2], "cumulative": [1, 3]})
    words = re.findall(r"<!-- ([^>]*?) -->", plots.accrual_plot(frame, 10, "zh-hans").svg.decode())
    assert {"中心 01", "全部中心", "目标 10", "累计入组受试者数"} <= set(words), words
    bars = re.findall(r"<!-- ([^>]*?) -->", plots.bar_plot(["Blood"], [2.0], xlabel="Events", language="zh-hans").svg.decode())
    assert "事件数" in bars
