"""The sponsor trial report against counts computed here from the seeded trial."""
import csv
import io

import pytest
from django.utils import timezone

from reports.models import ReportRun
from reports.tests.helpers import csv_text, file_bytes, generate, pdf_strings, xlsx_text
from reports.tests.trial_helpers import image_quality_session, make_trial_world
from trials.models import DosingRecord, ScreeningRecord

pytestmark = pytest.mark.django_db


def rows(run: ReportRun, section: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text(run, section))))


@pytest.fixture
def world(actors):  # type: ignore[no-untyped-def]
    return make_trial_world(actors)


@pytest.fixture
def run(actors, world, eager, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    return generate(actors.sponsor, "trial", {"trial": world.trial.code}, django_capture_on_commit_callbacks)


def arm_of(subject) -> str:  # type: ignore[no-untyped-def]
    return subject.arm.code


def test_accrual_and_consort(run, world) -> None:
    accrual = {r["site"]: r for r in rows(run, "accrual_by_site")}
    assert accrual["01"]["enrolled"] == "2" and accrual["02"]["enrolled"] == "2"
    assert accrual["all"]["enrolled"] == "4" and accrual["all"]["target"] == "10"
    assert float(accrual["all"]["percent_of_target"]) == pytest.approx(40.0)
    flow = {(r["step"], r["arm"], r["criterion"]): int(r["count"]) for r in rows(run, "consort_flow")}
    screenings = ScreeningRecord.objects.filter(trial=world.trial).exclude(patient=world.withdrawn.patient)
    assert flow[("screenings", "", "")] == screenings.count() == 5
    assert flow[("screen_failures", "", "")] == 1 and flow[("screen_failure_by_criterion", "", "I2")] == 1
    assert flow[("enrolled", "", "")] == 4
    for arm in ("LOW", "STD"):
        assert flow[("randomised", arm, "")] == sum(1 for s in world.subjects if arm_of(s) == arm)
    assert sum(int(r["enrolled"]) for r in rows(run, "accrual_by_month")) == 4


def test_baseline_by_arm(run, world) -> None:
    table = rows(run, "baseline_by_arm")
    for arm in ("LOW", "STD"):
        n = sum(1 for s in world.subjects if arm_of(s) == arm)
        sexes = {r["category"]: int(r["subjects"]) for r in table if r["arm"] == arm and r["variable"] == "sex"}
        assert sum(sexes.values()) == n
        assert sexes.get("F", 0) == sum(1 for s in world.subjects if arm_of(s) == arm and s.patient.sex == "F")


def test_dosing_compliance(run, world) -> None:
    listing = rows(run, "dosing_listing")
    assert {r["subject_number"] for r in listing} == {world.subjects[0].subject_number, world.subjects[2].subject_number}
    threshold = float(world.trial.deviation_threshold_percent)
    doses = DosingRecord.objects.filter(subject__in=world.subjects)
    above = sum(1 for d in doses if d.deviation_percent is not None and float(d.deviation_percent) > threshold)
    by_arm = rows(run, "dosing_compliance_by_arm")
    assert sum(int(r["above_threshold"]) for r in by_arm) == above >= 1
    assert sum(int(r["protocol_deviations"]) for r in by_arm) == sum(d.deviations.count() for d in doses)
    flagged = next(r for r in listing if r["subject_number"] == world.subjects[0].subject_number)
    assert flagged["above_threshold"] == "true" and flagged["protocol_deviation"] == "true"


def test_adverse_events_and_sae_clocks(run, world) -> None:
    arm0 = arm_of(world.subjects[0])
    terms = {(r["arm"], r["term"]): r for r in rows(run, "ae_by_soc_term")}
    assert terms[(arm0, "Nausea")]["events"] == "2" and terms[(arm0, "Nausea")]["subjects"] == "1"
    assert not any(term == "Vomiting" for _, term in terms)  # the withdrawn subject's event
    grades = {(r["arm"], r["term"], r["max_grade"]): int(r["subjects"]) for r in rows(run, "ae_max_grade")}
    assert grades[(arm0, "Nausea", "2")] == 1 and grades[(arm0, "Nausea", "1")] == 0
    related = {(r["arm"], r["relatedness"]): int(r["events"]) for r in rows(run, "ae_by_relatedness")}
    assert related[(arm0, "possible")] == 1 and related[(arm0, "unrelated")] == 1
    sae = rows(run, "sae_listing")
    assert [(r["subject_number"], r["clock"], r["clock_status"]) for r in sae] == [
        (world.subjects[2].subject_number, "site_24h", "late"), (world.subjects[2].subject_number, "susar_15d", "met")]


def test_open_queries_per_site(run) -> None:
    assert {r["site"]: (r["open"], r["answered"]) for r in rows(run, "open_queries_by_site")} == {"01": ("2", "0"), "02": ("0", "1")}


def test_image_quality_by_arm(actors, world, eager, django_capture_on_commit_callbacks) -> None:
    session = image_quality_session(actors, world)
    run = generate(actors.data_manager, "trial", {"trial": world.trial.pk}, django_capture_on_commit_callbacks)
    table = {(r["read_arm"], r["scale"]): r for r in rows(run, "image_quality_by_arm")}
    assert {r["session"] for r in rows(run, "image_quality_by_arm")} == {str(session.pk)}
    assert float(table[("low-dose", "overall_quality")]["mean"]) == 3.0
    assert float(table[("standard-dose", "noise")]["median"]) == 4.0
    assert table[("low-dose", "noise")]["reads"] == "4"  # 2 patients x 2 readers


def test_subject_numbers_only_and_withdrawn_subject_absent(real_pdf, run, world) -> None:
    forbidden = [s.patient.study_id for s in [*world.subjects, world.withdrawn]] + [world.withdrawn.subject_number]
    for file in run.files.all():
        content = file_bytes(run, file.name)
        text = {"csv": lambda b: b.decode("utf-8"), "svg": lambda b: b.decode("utf-8"), "xlsx": lambda b: xlsx_text(b)[1],
                "pdf": pdf_strings}[file.format](content)
        for value in forbidden:
            assert value not in text, file.name
    assert world.subjects[0].subject_number in csv_text(run, "dosing_listing")
    assert "Serious adverse events and their reporting clocks" in pdf_strings(file_bytes(run, "trial.pdf"))


def test_blinded_trial_groups_subjects_as_blinded(actors, eager, django_capture_on_commit_callbacks) -> None:
    world = make_trial_world(actors, code="NB-B1", blinded=True)
    run = generate(actors.sponsor, "trial", {"trial": world.trial.pk}, django_capture_on_commit_callbacks)
    assert {r["arm"] for r in rows(run, "baseline_by_arm")} == {"blinded"}
    assert {r["arm"] for r in rows(run, "dosing_listing")} == {"blinded"}
    assert not any(r["step"] == "randomised" and r["arm"] in ("LOW", "STD") for r in rows(run, "consort_flow"))


def test_csv_identical_for_identical_inputs(actors, world, eager, django_capture_on_commit_callbacks) -> None:
    params = {"trial": world.trial.pk, "as_of": timezone.localdate().isoformat()}
    first = generate(actors.data_manager, "trial", params, django_capture_on_commit_callbacks)
    second = generate(actors.sponsor, "trial", params, django_capture_on_commit_callbacks)
    assert {f.name: f.sha256 for f in first.files.filter(format="csv")} == {f.name: f.sha256 for f in second.files.filter(format="csv")}
    sheets, _ = xlsx_text(file_bytes(first, "trial.xlsx"))
    assert sheets == ["about", *(s["key"] for s in first.result["sections"])]


def test_query_count_does_not_grow_with_subjects(actors, world, django_assert_max_num_queries) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reports.builders.trial import build
    from reports.tests.trial_helpers import _ae, _dose
    from trials.tests.builders import enrol

    params = {"trial": world.trial.pk, "trial_code": world.trial.code, "as_of": timezone.localdate().isoformat()}
    build(actors.sponsor, params, lambda p: None)
    with CaptureQueriesContext(connection) as small:
        build(actors.sponsor, params, lambda p: None)
    for n in range(4):
        subject = enrol(actors.coordinator_b, world.trial, actors.hospital_b)
        _dose(actors.coordinator_b, subject, "40")
        _ae(subject, 1, term=f"Term {n}", soc="General disorders", grade=2, relatedness="possible", recorder=actors.coordinator_b)
    with django_assert_max_num_queries(len(small.captured_queries)):
        report = build(actors.sponsor, params, lambda p: None)
    assert report.row_counts["dosing_listing"] == 6
