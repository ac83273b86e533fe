"""Reports in Chinese: the `language` parameter gives the PDF Chinese headings set in Noto Sans CJK."""
import pytest

from registry.errors import ApplicationError
from reports.renderers import cjk_font_installed
from reports.services import report_run_request
from reports.tests.helpers import AS_OF, file_bytes, generate, make_cohort, pdf_strings

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(not cjk_font_installed(), reason="no CJK font (fc-list :lang=zh finds no Noto Sans CJK): install fonts-noto-cjk")
def test_chinese_pdf_has_chinese_headings_in_the_cjk_font(actors, real_pdf, eager, django_capture_on_commit_callbacks) -> None:
    make_cohort(actors)
    run = generate(actors.data_manager, "cohort", {"as_of": AS_OF.isoformat(), "language": "zh-hans"},
                   django_capture_on_commit_callbacks)
    assert run.params["language"] == "zh-hans"
    pdf = file_bytes(run, "cohort.pdf")
    text = pdf_strings(pdf)  # the outline (bookmark) titles are the headings, as UTF-16 text
    for heading in ("登记队列报告", "按医院统计的患者", "各医院随访完成情况", "每名患儿的累积有效剂量（mSv）"):
        assert heading in text, heading
    assert "NotoSansCJK" in text  # the embedded font subset
    # The data are the same in both languages: the CSV files do not change.
    english = generate(actors.data_manager, "cohort", {"as_of": AS_OF.isoformat()}, django_capture_on_commit_callbacks)
    assert "language" not in english.params
    assert file_bytes(english, "patients_by_hospital.csv") == file_bytes(run, "patients_by_hospital.csv")
    assert "登记队列报告" not in pdf_strings(file_bytes(english, "cohort.pdf"))


@pytest.mark.parametrize(("kind", "language"), [("cohort", "fr"), ("cohort", 7), ("extract", "zh-hans")])
def test_unknown_language_or_a_kind_without_pdf_is_refused(actors, kind, language) -> None:
    with pytest.raises(ApplicationError) as err:
        report_run_request(actor=actors.data_manager, kind=kind, params={"language": language})
    assert err.value.code == "invalid_parameter" and "language" in err.value.fields
