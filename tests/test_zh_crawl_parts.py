"""The parts of Chinese pages that were English whatever the catalogues said (issue 17, Broken 5), each built in the
reader's language: the out-of-window and dose deviations (stored as facts, said when shown), hospital names, report
kind titles, the Chinese PDF's title, the pipeline's step names and notes (the pending-dose note of the dose history
is found by tests/test_zh_crawl.py).

The zh_Hans catalogues are the translators' (the coordinator adds the new msgids): where a string is new, the test adds
its entry to Django's loaded zh-hans catalogue for the test's duration (`zh_entries`), so what is checked is that the
code asks gettext at display time with the right msgid and values, not what the translation says.
"""
import re
from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import trans_real

from conftest import Actors
from imaging import pipeline, steps
from imaging.models import Series
from reports.document import Report
from reports.kinds import report_kind
from reports.renderers import _title
from tests.test_zh_crawl import CJK
from trials.models import ProtocolDeviation, SubjectVisit
from trials.tests.test_dosing import dose, subject  # noqa: F401 (fixture)
from trials.tests.test_web_fixtures import World, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

VISIT_SENTENCE = "Visit %(visit)s done on %(done_on)s, outside its window %(window_start)s to %(window_end)s. Reason given: %(reason)s"
DOSE_SENTENCE = ("Net administered activity %(net_activity_mbq)s MBq is %(deviation_percent)s %% above the recommended "
                 "%(recommended_activity_mbq)s MBq (%(table)s %(table_version)s); the trial's threshold is +%(threshold_percent)s %%.")
# Stand-ins for the translators' entries (the test's own wording, not the shipped translation).
ZH_TEST_ENTRIES = {
    VISIT_SENTENCE: "访视 %(visit)s 于 %(done_on)s 完成，在窗口期 %(window_start)s 至 %(window_end)s 之外。原因：%(reason)s",
    DOSE_SENTENCE: "净给药活度 %(net_activity_mbq)s MBq 比推荐的 %(recommended_activity_mbq)s MBq（%(table)s %(table_version)s）"
                   "高 %(deviation_percent)s %%；试验的阈值为 +%(threshold_percent)s %%。",
    "Sponsor trial report": "申办方试验报告",
    "SUV is computed for PET (PT) series; this one is %(modality)s.": "SUV 只对 PET（PT）序列计算；此序列为 %(modality)s。",
    "Effective dose": "有效剂量",
    "relative score %(relative)s <= %(limit)s: reduction of at least 50 %%": "相对评分 %(relative)s <= %(limit)s：减少至少 50 %%",
}


@pytest.fixture
def zh_entries() -> Iterator[None]:
    """ZH_TEST_ENTRIES in front of the loaded zh-hans catalogue while the test runs (removed after)."""
    catalog = trans_real.translation("zh-hans")._catalog
    catalog._catalogs.insert(0, dict(ZH_TEST_ENTRIES))
    catalog._plurals.insert(0, catalog._plurals[0])
    try:
        yield
    finally:
        catalog._catalogs.pop(0)
        catalog._plurals.pop(0)


def test_an_out_of_window_visit_deviation_reads_in_the_readers_language(client, actors: Actors, world: World,  # noqa: F811
                                                                          zh_entries: None) -> None:
    w4 = SubjectVisit.objects.get(subject=world.subject_a, definition__code="W4")  # its window opens in four weeks
    today = timezone.localdate()
    client.force_login(actors.investigator_a)
    response = client.post(reverse("web-visit-record", args=[w4.pk]), {
        "status": "done", "done_on": today.isoformat(), "reason": "", "out_of_window_reason": "Family could only come today."})
    assert response.status_code == 302
    deviation = ProtocolDeviation.objects.get(subject_visit=w4)
    w4.refresh_from_db()
    assert deviation.details == {"visit": "W4", "done_on": today.isoformat(), "window_start": w4.window_start.isoformat(),
                                 "window_end": w4.window_end.isoformat(), "reason": "Family could only come today."}
    # The English sentence is kept as raised (audit, API, exports) and is what the English page says.
    english = (f"Visit W4 done on {today:%m/%d/%Y}, outside its window {w4.window_start:%m/%d/%Y} to {w4.window_end:%m/%d/%Y}. "
               "Reason given: Family could only come today.")
    assert deviation.description.startswith(f"Visit W4 done on {today.isoformat()}, outside its window")
    page = client.get(reverse("web-subject-detail", args=[world.subject_a.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert english in page
    # In Chinese: the Chinese sentence, with the dates in the Chinese format; the reason as it was typed (data).
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("web-subject-detail", args=[world.subject_a.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    zh_date = f"{today.year}年{today.month}月{today.day}日"
    assert f"访视 W4 于 {zh_date} 完成" in page and "原因：Family could only come today." in page
    assert "outside its window" not in page


def test_a_deviation_raised_before_details_shows_its_description(world: World, zh_entries: None) -> None:  # noqa: F811
    w4 = SubjectVisit.objects.get(subject=world.subject_a, definition__code="W4")
    old = ProtocolDeviation.objects.create(subject=world.subject_a, subject_visit=w4, kind=ProtocolDeviation.Kind.VISIT_OUT_OF_WINDOW,
                                           detected_at=timezone.now(), description="Visit W4 done late (old row).")
    with translation.override("zh-hans"):
        assert old.details == {} and old.text == "Visit W4 done late (old row)."
        old.details = {"visit": "W4"}  # a part missing: the description, never a 500
        assert old.text == "Visit W4 done late (old row)."


def test_a_dose_deviation_reads_in_the_readers_language(actors: Actors, subject, zh_entries: None) -> None:  # noqa: F811
    dose(actors, subject, calibrated="120", residual="0")  # 60 MBq: +35.14 % against 44.4 (trials/tests/test_dosing.py)
    deviation = ProtocolDeviation.objects.get()
    assert deviation.details == {"net_activity_mbq": "60.000", "deviation_percent": "35.14", "recommended_activity_mbq": "44.400",
                                 "table": "north_america", "table_version": deviation.details["table_version"],
                                 "threshold_percent": "10.0"}
    with translation.override("en"):
        # The same sentence from the parts, the table by its name rather than its code.
        assert deviation.text == deviation.description.replace("(north_america ", "(North American consensus (weight-based) ")
    with translation.override("zh-hans"):
        table = translation.gettext("North American consensus (weight-based)")
        assert deviation.text.startswith(f"净给药活度 60.000 MBq 比推荐的 44.400 MBq（{table} ")
        assert deviation.dosing_record.dosage_table_label == table != "North American consensus (weight-based)"
        assert deviation.text.endswith("高 35.14 %；试验的阈值为 +10.0 %。")


def test_hospital_names_follow_the_language(actors: Actors) -> None:
    hospital = actors.hospital_a
    hospital.name_zh, hospital.name_en = "甲医院", "Hospital A"
    with translation.override("zh-hans"):
        assert str(hospital) == "AAA 甲医院" and hospital.name == "甲医院"
    with translation.override("en"):
        assert str(hospital) == "AAA Hospital A"
    hospital.name_zh = ""
    with translation.override("zh-hans"):
        assert str(hospital) == "AAA Hospital A"  # no Chinese name: the English one


def test_report_kind_titles_and_the_chinese_pdf_title(zh_entries: None) -> None:
    with translation.override("zh-hans"):
        assert str(report_kind("trial").title) == "申办方试验报告"
    with translation.override("en"):
        assert str(report_kind("trial").title) == "Sponsor trial report"
    # The Chinese PDF says its title without the builder's English subtitle (the date and trial are on the parameters
    # line); the diagnostic report keeps the comparison's name, which is data.
    assert _title(Report("cohort", "Registry cohort report as of 2026-06-30", {}, language="zh-hans")) == "登记队列报告"
    assert _title(Report("trial", "Trial report NB-T1 as of 2026-06-30", {}, language="zh-hans")) == "试验报告"
    assert _title(Report("diagnostic", "Diagnostic performance: PET vs MIBG", {}, language="zh-hans")) == "诊断效能报告（PET vs MIBG）"
    assert _title(Report("cohort", "Registry cohort report as of 2026-06-30", {})) == "Registry cohort report as of 2026-06-30"


def test_pipeline_step_names_and_notes_in_the_readers_language(zh_entries: None) -> None:
    result = steps.suv_step(Series(modality="CT"))
    assert result["not_applicable"] == "SUV is computed for PET (PT) series; this one is CT."  # English kept for the API
    with translation.override("zh-hans"):
        assert pipeline.step_note(result) == "SUV 只对 PET（PT）序列计算；此序列为 CT。"
        assert pipeline.step_label("dose") == "有效剂量" and pipeline.step_label("unregistered") == "unregistered"
        # A result stored before the message ids: its English text, as stored.
        assert pipeline.step_note({"not_applicable": "Old note."}) == "Old note."
        assert pipeline.step_note({"quantifiable": True}) == ""
    with translation.override("en"):
        assert pipeline.step_note(result) == "SUV is computed for PET (PT) series; this one is CT."
        assert pipeline.step_label("dose") == "Effective dose"


def test_the_query_field_chooser_names_an_adverse_events_own_copies_in_words() -> None:
    """The adverse event's copies of its report's fields (is_serious, site_awareness_at: Django's default verbose
    names, in no catalogue) read as the report's labels; the crawl saw "Is serious" and "Site awareness at"."""
    from trials.oversight.fields import field_label
    from trials.safety.models import AdverseEvent, AdverseEventVersion

    for name in ("is_serious", "site_awareness_at"):
        assert AdverseEvent._meta.get_field(name).verbose_name == name.replace("_", " ")  # what made it English
        for language in ("en", "zh-hans"):
            with translation.override(language):
                assert field_label(AdverseEvent, name) == capfirst(str(AdverseEventVersion._meta.get_field(name).verbose_name))
        with translation.override("zh-hans"):
            assert CJK.search(field_label(AdverseEvent, name)), field_label(AdverseEvent, name)


def test_inrc_notes_are_said_in_the_readers_language(zh_entries: None) -> None:
    """The INRC MIBG bone notes (nucmed, no Django) carry their parts; the patient panel says them from the same
    templates, marked for the catalogues."""
    from imaging.reading.web.panels import INRC_NOTES, inrc_notes
    from nucmed import response
    from nucmed.scoring import SYSTEMS

    assert INRC_NOTES == response.NOTES  # the page's templates are nucmed's, word for word
    bones = response.bone_segments("curie")[:4]
    empty = dict.fromkeys(SYSTEMS["curie"].segment_codes, 0)
    baseline = {**empty, **dict.fromkeys(bones, 3)}  # bone score 12
    follow_up = {**empty, **dict.fromkeys(bones, 1)}  # bone score 4: relative 0.333, PR
    result = response.mibg_bone_response("curie", baseline, follow_up)
    assert result.category is response.BoneResponse.PARTIAL
    assert result.notes[0] == "relative score 0.333 <= 0.5: reduction of at least 50 %"
    inrc = {"notes": list(result.notes), "note_parts": [[k, v] for k, v in result.note_parts]}
    with translation.override("en"):
        assert inrc_notes(inrc) == list(result.notes)
    with translation.override("zh-hans"):
        shown = inrc_notes(inrc)
        assert shown[0] == "相对评分 0.333 <= 0.5：减少至少 50 %"
        assert shown[1] == "基线时已受累节段内的新病灶无法在节段评分中体现"  # a fixed note: the catalogue's words
        assert inrc_notes({"notes": ["old note"]}) == ["old note"]  # an assessment stored before the parts


def test_every_not_assessable_reason_of_the_timeline_is_marked_for_the_catalogues() -> None:
    """Each fixed reason nucmed and the timeline give is in the panel's list (what makemessages extracts), so the
    panel's gettext finds it once translated."""
    import inspect

    from imaging.reading import selectors
    from imaging.reading.web.panels import NOT_ASSESSABLE_REASONS
    from nucmed import response, scoring

    given = set()
    for module in (selectors, response, scoring):
        given |= set(re.findall(r'"((?:baseline|the baseline|relative change) [^"]*)"', inspect.getsource(module)))
    assert len(given) >= 5 and given <= set(NOT_ASSESSABLE_REASONS), given - set(NOT_ASSESSABLE_REASONS)
