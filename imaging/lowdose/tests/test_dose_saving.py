"""Dose saved per PET exam (effective dose of the dosage table's activity for the child's weight minus the dose received)
and the programme summary, against figures computed by hand for three children."""
import statistics
from datetime import date

import pytest

from conftest import Actors, api_client
from imaging.models import DoseResult, ImagingStudy
from nucmed.effective_dose import radiopharmaceutical_effective_dose
from registry.tests.builders import consented_patient

API = "/api/v1/lowdose/"


def _exam(actor, hospital, *, on: date, age: float, given: float, recommended: float | None, uid: str) -> DoseResult:  # type: ignore[no-untyped-def]
    patient = consented_patient(actor, hospital, sex="M", birth_date=date(2016, 1, 1), diagnosis_date=date(2020, 1, 1))
    study = ImagingStudy.objects.create(patient=patient, study_uid=uid, study_date=on, tracer="F18_FDG", modality_group="pet_ct",
                                        status=ImagingStudy.Status.READY)
    coefficient = radiopharmaceutical_effective_dose(agent_code="F18_FDG", activity_mbq=1.0, age_years=age).coefficient_msv_per_mbq
    return DoseResult.objects.create(study=study, tracer="F18_FDG", age_years=age, administered_activity_mbq=given,
                                     recommended_activity_mbq=recommended, radiopharmaceutical_msv=given * coefficient,
                                     radiopharmaceutical_coefficient=coefficient)


@pytest.fixture
def exams(actors: Actors) -> list[DoseResult]:
    return [
        # One sixth of the recommended activity, at 4 and 9 years, hospital A, 2024; the standard at 6 years, hospital B, 2025.
        _exam(actors.coordinator_a, actors.hospital_a, on=date(2024, 3, 1), age=4.0, given=20.0, recommended=120.0, uid="2.25.81"),
        _exam(actors.coordinator_a, actors.hospital_a, on=date(2024, 6, 1), age=9.0, given=30.0, recommended=180.0, uid="2.25.82"),
        _exam(actors.coordinator_b, actors.hospital_b, on=date(2025, 1, 5), age=6.0, given=150.0, recommended=150.0, uid="2.25.83"),
    ]


def test_each_exam_saving_is_the_coefficient_times_the_activity_not_given(actors: Actors, exams: list[DoseResult]) -> None:
    rows = {r["study_id"]: r for r in api_client(actors.data_manager).get(f"{API}dose-savings/").json()}
    for dose in exams:
        row = rows[dose.study_id]
        expected = dose.radiopharmaceutical_coefficient * (dose.recommended_activity_mbq - dose.administered_activity_mbq)
        assert row["saving_msv"] == pytest.approx(expected)
        assert row["standard_msv"] == pytest.approx(dose.radiopharmaceutical_coefficient * dose.recommended_activity_mbq)
    assert rows[exams[2].study_id]["saving_msv"] == pytest.approx(0.0)
    # A coordinator of hospital A sees hospital A's exams only.
    mine = api_client(actors.coordinator_a).get(f"{API}dose-savings/", {"study": exams[2].study_id}).json()
    assert mine == []


def test_programme_summary_totals_and_medians(actors: Actors, exams: list[DoseResult], django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    savings = [d.radiopharmaceutical_coefficient * (d.recommended_activity_mbq - d.administered_activity_mbq) for d in exams]
    client = api_client(actors.data_manager)
    with django_assert_max_num_queries(8):  # measured: session, user, memberships (2), the dose rows, the session's save (3)
        rows = client.get(f"{API}dose-savings/summary/").json()
    by_key = {(r["hospital"], r["year"]): r for r in rows}
    a = by_key[(actors.hospital_a.code, 2024)]
    assert a["exams"] == 2 and a["total_saving_msv"] == pytest.approx(savings[0] + savings[1])
    assert a["median_saving_msv"] == pytest.approx(statistics.median(savings[:2]))
    b = by_key[(actors.hospital_b.code, 2025)]
    assert b["exams"] == 1 and b["total_saving_msv"] == pytest.approx(0.0)


def test_an_exam_without_a_recommendation_says_why(actors: Actors) -> None:
    _exam(actors.coordinator_a, actors.hospital_a, on=date(2024, 3, 1), age=4.0, given=20.0, recommended=None, uid="2.25.84")
    [row] = api_client(actors.coordinator_a).get(f"{API}dose-savings/").json()
    assert row["saving_msv"] is None and row["not_available_reason"]
    [summary] = api_client(actors.coordinator_a).get(f"{API}dose-savings/summary/").json()
    assert summary["exams"] == 0 and summary["exams_unknown"] == 1 and summary["total_saving_msv"] is None
    bad = api_client(actors.coordinator_a).get(f"{API}dose-savings/", {"study": "x"})
    assert bad.status_code == 400
