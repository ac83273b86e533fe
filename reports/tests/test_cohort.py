"""The cohort report against figures computed here from the seeded cohort, and lifelines called directly."""
import csv
import io
from datetime import date, timedelta

import pytest
from lifelines import KaplanMeierFitter

from reports.models import ReportRun
from reports.survival import DAYS_PER_MONTH
from reports.tests.helpers import AS_OF, WITHDRAWN_ON, csv_text, file_bytes, generate, identifiers, make_cohort, pdf_strings, xlsx_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort(actors):  # type: ignore[no-untyped-def]
    return make_cohort(actors)


def rows(run: ReportRun, section: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text(run, section))))


def by(table: list[dict[str, str]], key: str, value: str = "patients") -> dict[str, str]:
    return {r[key]: r[value] for r in table}


@pytest.fixture
def run(actors, cohort, eager, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    return generate(actors.data_manager, "cohort", {"as_of": AS_OF.isoformat()}, django_capture_on_commit_callbacks)


def test_counts_match_the_cohort(run, cohort, actors) -> None:
    assert by(rows(run, "patients_by_hospital"), "hospital") == {"AAA": "2", "BBB": "2"}
    assert by(rows(run, "patients_by_inrg_risk"), "inrg_risk") == {"very_low": "1", "low": "1", "intermediate": "1", "high": "1"}
    assert by(rows(run, "patients_by_age_band"), "age_band") == {"<12": "1", "12-<18": "1", "18-<60": "1", ">=60": "1"}
    assert by(rows(run, "patients_by_mycn"), "mycn") == {"amplified": "1", "not_amplified": "2", "unknown": "1"}
    assert by(rows(run, "patients_by_diagnosis_year"), "diagnosis_year") == {"2020": "2", "2021": "2"}
    assert by(rows(run, "patients_by_inrgss_stage"), "inrgss_stage") == {"L1": "1", "L2": "1", "M": "1", "MS": "1"}
    expected_cog = {str(p.cog_risk): sum(1 for q in cohort.included if q.cog_risk == p.cog_risk) for p in cohort.included}
    assert {k: int(v) for k, v in by(rows(run, "patients_by_cog_risk"), "cog_risk").items() if int(v)} == expected_cog
    states = {(r["consent_state"], r["contact_withdrawn"]): int(r["patients"]) for r in rows(run, "consent_states")}
    assert states[("consented", "false")] == 3 and states[("no_valid_consent", "false")] == 1
    assert sum(states.values()) == 4
    assert run.row_counts["patients_by_hospital"] == 2
    assert run.requested_by == actors.data_manager


def test_follow_up_completeness_per_hospital(run, cohort) -> None:
    table = {r["hospital"]: r for r in rows(run, "follow_up_completeness")}
    due_a = sum(1 for p in (cohort.p1, cohort.p2) for v in p.visits.all()
                if v.target_date and v.window_end <= AS_OF and v.status != "cancelled")
    assert int(table["AAA"]["visits_due"]) == due_a
    assert int(table["AAA"]["done_in_window"]) == 5  # p1: 3 visits, p2: 2 visits, each on its target date
    assert float(table["AAA"]["completeness_percent"]) == pytest.approx(100 * 5 / due_a, abs=1e-4)


def _independent_outcomes(cohort) -> tuple[list[int], list[bool], list[int], list[bool]]:  # type: ignore[no-untyped-def]
    """From what the test recorded: p1 progressed on 2021-03-01 and died at visit 3; the others are censored at their
    last recorded visit (or at diagnosis when never seen)."""
    p1_death = cohort.p1.visits.get(number=3).death_date
    records = [
        (cohort.p1.diagnosis_date, p1_death, True, date(2021, 3, 1)),
        (cohort.p2.diagnosis_date, cohort.p2.visits.get(number=2).visit_date, False, None),
        (cohort.p3.diagnosis_date, cohort.p3.visits.get(number=1).visit_date, False, None),
        (cohort.p5.diagnosis_date, cohort.p5.diagnosis_date, False, None),
    ]
    os_days = [(end - dx).days for dx, end, _, _ in records]
    efs_days = [((event or end) - dx).days for dx, end, _, event in records]
    return os_days, [r[2] for r in records], efs_days, [r[2] or r[3] is not None for r in records]


def test_kaplan_meier_against_lifelines(run, cohort) -> None:
    os_days, os_events, efs_days, efs_events = _independent_outcomes(cohort)
    table = rows(run, "survival_at_months")
    for endpoint, days, events in (("OS", os_days, os_events), ("EFS", efs_days, efs_events)):
        kmf = KaplanMeierFitter().fit([d / DAYS_PER_MONTH for d in days], event_observed=events)
        for month in (6, 12, 24):
            row = next(r for r in table if r["endpoint"] == endpoint and r["group"] == "all" and r["month"] == str(month))
            assert float(row["survival"]) == pytest.approx(float(kmf.survival_function_at_times(month).iloc[0]), abs=1e-4)
            assert int(row["n_at_risk"]) == sum(1 for d in days if d / DAYS_PER_MONTH >= month)
            assert 0 <= float(row["ci_lower"]) <= float(row["survival"]) <= float(row["ci_upper"]) <= 1
    summary = {(r["endpoint"], r["group"]): r for r in rows(run, "survival_summary")}
    assert summary[("OS", "all")]["events"] == "1" and summary[("EFS", "all")]["events"] == "1"
    assert summary[("OS", "high")]["patients"] == "1"


def test_imaging_volume_and_dose(run) -> None:
    volume = {(r["year"], r["tracer"], r["hospital"]): int(r["studies"]) for r in rows(run, "imaging_volume")}
    assert volume == {("2020", "I123_MIBG", "AAA"): 1, ("2021", "F18_FDG", "AAA"): 1, ("2021", "I123_MIBG", "AAA"): 1}
    dose = {r["age_band"]: r for r in rows(run, "dose_per_child")}
    assert dose["all"]["children"] == "2"
    assert float(dose["all"]["median_msv"]) == pytest.approx(7.5)  # p1: 5 + 7 = 12, p2: 3
    assert float(dose["all"]["q1_msv"]) == pytest.approx(5.25) and float(dose["all"]["q3_msv"]) == pytest.approx(9.75)
    assert dose["18-<60"]["children"] == "1" and float(dose["18-<60"]["median_msv"]) == pytest.approx(12.0)
    per_exam = {(r["modality_group"], r["tracer"]): r for r in rows(run, "dose_per_exam_type")}
    assert per_exam[("spect_ct", "I123_MIBG")]["exams"] == "2"
    assert float(per_exam[("spect_ct", "I123_MIBG")]["median_msv"]) == pytest.approx(4.0)


def test_withdrawal_excludes_from_the_withdrawal_date(actors, cohort, eager, django_capture_on_commit_callbacks) -> None:
    before = generate(actors.data_manager, "cohort", {"as_of": (WITHDRAWN_ON - timedelta(days=1)).isoformat()},
                      django_capture_on_commit_callbacks)
    on = generate(actors.data_manager, "cohort", {"as_of": WITHDRAWN_ON.isoformat()}, django_capture_on_commit_callbacks)
    assert by(rows(before, "patients_by_hospital"), "hospital")["AAA"] == "3"  # p4 still counted the day before
    assert by(rows(on, "patients_by_hospital"), "hospital")["AAA"] == "2"
    assert sum(int(r["studies"]) for r in rows(on, "imaging_volume")) == 3  # p4's study gone too
    assert {r["age_band"]: r["children"] for r in rows(on, "dose_per_child")}["all"] == "2"
    assert not any(float(r["median_msv"] or 0) >= 100 for r in rows(on, "dose_per_exam_type"))


def test_no_identifier_in_any_file(real_pdf, run, cohort) -> None:
    forbidden = identifiers([cohort.p1, cohort.p2, cohort.p3, cohort.p4, cohort.p5], cohort.identities)
    for file in run.files.all():
        content = file_bytes(run, file.name)
        text = {"csv": lambda b: b.decode("utf-8"), "svg": lambda b: b.decode("utf-8"), "xlsx": lambda b: xlsx_text(b)[1],
                "pdf": pdf_strings}[file.format](content)
        for value in forbidden:
            assert value not in text, (file.name, "identifier found")
    assert cohort.p1.study_id not in str(run.result)


def test_csv_is_byte_identical_for_identical_inputs(actors, cohort, eager, django_capture_on_commit_callbacks) -> None:
    params = {"as_of": AS_OF.isoformat(), "hospitals": ["BBB", "AAA"]}
    first = generate(actors.data_manager, "cohort", params, django_capture_on_commit_callbacks)
    second = generate(actors.data_manager, "cohort", params, django_capture_on_commit_callbacks)
    csvs = lambda run: {f.name: (f.sha256, file_bytes(run, f.name)) for f in run.files.filter(format="csv")}  # noqa: E731
    assert csvs(first) == csvs(second)
    assert len(csvs(first)) == len(first.row_counts) >= 14
    assert first.params == second.params and first.params["hospitals"] == ["AAA", "BBB"]


def test_xlsx_and_pdf_open_with_their_headings(real_pdf, run) -> None:
    sheets, _ = xlsx_text(file_bytes(run, "cohort.xlsx"))
    assert sheets == ["about", *(s["key"] for s in run.result["sections"])]
    text = pdf_strings(file_bytes(run, "cohort.pdf"))
    assert file_bytes(run, "cohort.pdf").startswith(b"%PDF")
    for heading in ("Patients by hospital", "Kaplan-Meier OS by INRG risk group", "Follow-up completeness per hospital"):
        assert heading in text


def test_investigators_report_on_their_own_hospitals(actors, cohort, eager, django_capture_on_commit_callbacks) -> None:
    run = generate(actors.investigator_a, "cohort", {"as_of": AS_OF.isoformat()}, django_capture_on_commit_callbacks)
    assert run.params["hospitals"] == ["AAA"]
    assert by(rows(run, "patients_by_hospital"), "hospital") == {"AAA": "2"}


def test_query_count_does_not_grow_with_the_cohort(actors, django_assert_max_num_queries) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reports.builders.cohort import build
    from reports.tests.bulk import bulk_cohort

    counts = []
    params = {"as_of": "2024-06-30", "hospitals": ["AAA"], "diagnosis_from": None, "diagnosis_to": None}
    build(actors.data_manager, params, lambda p: None)  # the requester's scope is computed (and cached) once
    for size in (200, 2000):
        bulk_cohort(actors.hospital_a, size, prefix=f"Q{size}-")
        with CaptureQueriesContext(connection) as ctx:
            report = build(actors.data_manager, params, lambda p: None)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    assert report.row_counts["patients_by_hospital"] == 1
    with django_assert_max_num_queries(counts[0]):
        build(actors.data_manager, params, lambda p: None)
