"""Dose saved per PET exam (effective dose of the dosage table's activity for the child's weight minus the dose received)
and the programme summary, against figures computed by hand for three children."""
import re
import statistics
from datetime import date

import pytest
from django.test import RequestFactory
from django.urls import reverse

from conftest import Actors, api_client
from imaging.lowdose.web.dose_saving import dose_saving_panel
from imaging.models import DoseResult, ImagingStudy
from nucmed.effective_dose import radiopharmaceutical_effective_dose
from registry.tests.builders import client_of, consented_patient

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


# ---------------------------------------------------------------------------------------------------------------------
# The same three children on their own pages (the dose-saved panel) and on the programme page, against figures
# computed by hand: ICRP 128's 18F-FDG coefficients, 0.056 mSv/MBq in the 5-year band (ages 4 and 6) and 0.037 in the
# 10-year band (age 9); saving = coefficient x (recommended - given); % of coefficient x recommended.
# ---------------------------------------------------------------------------------------------------------------------
HAND = {  # child -> (received, standard, saved mSv, saved %)
    0: (0.056 * 20, 0.056 * 120, 0.056 * 100, 100 * 100 / 120),  # 1.12, 6.72, 5.60, 83.3 %
    1: (0.037 * 30, 0.037 * 180, 0.037 * 150, 100 * 150 / 180),  # 1.11, 6.66, 5.55, 83.3 %
    2: (0.056 * 150, 0.056 * 150, 0.0, 0.0),  # 8.40, 8.40, 0.00, 0 %
}
ACQUISITION = [("low_dose", "none"), ("low_dose", "sedation"), ("standard", "general_anaesthesia")]


def _numbers(html: str, testid: str) -> list[float]:
    return [float(v) for v in re.findall(rf'data-testid="{testid}">\s*(-?[\d.]+)\s*<', html)]


def _row(html: str, study_id: int) -> str:
    return re.search(rf'data-study-id="{study_id}">(.*?)</tr>', html, re.S).group(1)  # type: ignore[union-attr]


@pytest.fixture
def recorded(exams: list[DoseResult]) -> list[DoseResult]:
    for dose, (protocol, sedation) in zip(exams, ACQUISITION, strict=True):
        ImagingStudy.objects.filter(pk=dose.study_id).update(acquisition_protocol=protocol, sedation=sedation,
                                                             acquisition_protocol_source="manual")
    return exams


def test_each_childs_page_shows_the_hand_computed_saving(actors: Actors, recorded: list[DoseResult]) -> None:
    users = [actors.coordinator_a, actors.coordinator_a, actors.coordinator_b]
    for k, dose in enumerate(recorded):
        html = client_of(users[k]).get(reverse("web-patient-detail", args=[dose.study.patient.study_id])).content.decode()
        assert 'data-testid="dose-saving-panel"' in html
        row = _row(html, dose.study_id)
        received, standard, saved, percent = HAND[k]
        assert _numbers(row, "received") == [pytest.approx(received, abs=0.005)]
        assert _numbers(row, "standard") == [pytest.approx(standard, abs=0.005)]
        assert _numbers(row, "saving") == [pytest.approx(saved, abs=0.005)]
        assert _numbers(row, "saving-percent") == [pytest.approx(percent, abs=0.05)]
        label = {"low_dose": "Low dose", "standard": "Standard"}[ACQUISITION[k][0]]
        sedation = {"none": "None", "sedation": "Sedation", "general_anaesthesia": "General anaesthesia"}[ACQUISITION[k][1]]
        assert f'data-testid="protocol">{label}<' in row and f'data-testid="sedation">{sedation}<' in row
        # One exam: the total line is that exam.
        total = re.search(r'data-testid="dose-saving-total">(.*?)</tr>', html, re.S).group(1)  # type: ignore[union-attr]
        assert _numbers(total, "saving") == [pytest.approx(saved, abs=0.005)]


def test_a_child_with_two_exams_and_one_unknown_gets_a_total_line(actors: Actors, recorded: list[DoseResult],
                                                                   django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    patient = recorded[0].study.patient
    second = ImagingStudy.objects.create(patient=patient, study_uid="2.25.85", study_date=date(2025, 3, 1), tracer="F18_FDG",
                                         modality_group="pet_ct", status=ImagingStudy.Status.READY)
    DoseResult.objects.create(study=second, tracer="F18_FDG", age_years=5.0, administered_activity_mbq=24.0, recommended_activity_mbq=132.0,
                              radiopharmaceutical_msv=24.0 * 0.056, radiopharmaceutical_coefficient=0.056)
    unknown = ImagingStudy.objects.create(patient=patient, study_uid="2.25.86", study_date=date(2025, 9, 1), tracer="F18_FDG",
                                          modality_group="pet_ct", status=ImagingStudy.Status.READY)
    DoseResult.objects.create(study=unknown, tracer="F18_FDG", age_years=5.5, administered_activity_mbq=30.0,
                              recommendation_not_available="The patient's weight is not known.")
    client = client_of(actors.coordinator_a)
    html = client.get(reverse("web-patient-detail", args=[patient.study_id])).content.decode()
    total = re.search(r'data-testid="dose-saving-total">(.*?)</tr>', html, re.S).group(1)  # type: ignore[union-attr]
    # 0.056 x (20 + 24) received, 0.056 x (120 + 132) standard, 0.056 x (100 + 108) saved = 82.5 % of the standard.
    assert _numbers(total, "received") == [pytest.approx(2.464, abs=0.005)]
    assert _numbers(total, "standard") == [pytest.approx(14.112, abs=0.005)]
    assert _numbers(total, "saving") == [pytest.approx(11.648, abs=0.005)]
    assert _numbers(total, "saving-percent") == [pytest.approx(100 * 208 / 252, abs=0.05)]
    assert "Total of 2 exams whose saving is known" in total and "1 exam not counted" in total
    assert "The patient&#x27;s weight is not known." in _row(html, unknown.pk)
    # The panel's own reads: the child's dose rows with their studies, in one query whatever the number of exams.
    request = RequestFactory().get("/")
    request.user = actors.coordinator_a
    with django_assert_max_num_queries(3):  # scope (2, cached after), the dose rows
        panel = dose_saving_panel(request, patient)
    assert panel is not None and len(panel.context["rows"]) == 3
    # Another hospital's coordinator does not see this child at all; the data manager sees the same figures.
    assert client_of(actors.coordinator_b).get(reverse("web-patient-detail", args=[patient.study_id])).status_code == 404


def test_programme_page_per_tracer_hospital_year_with_sedation(actors: Actors, recorded: list[DoseResult],
                                                                django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = client_of(actors.data_manager)
    url = reverse("web-lowdose-dose-saving")
    client.get(url)  # the session and the scope are cached by the first request
    with django_assert_max_num_queries(8):  # measured: session, user, memberships (2), the dose rows, the session's save (3)
        html = client.get(url).content.decode()
    by_all = re.search(r'data-testid="by-all">(.*?)</table>', html, re.S).group(1)  # type: ignore[union-attr]
    a = re.search(rf'data-hospital="{actors.hospital_a.code}" data-year="2024">(.*?)</tr>', by_all, re.S).group(1)  # type: ignore[union-attr]
    assert _numbers(a, "exams") == [2] and _numbers(a, "total") == [pytest.approx(HAND[0][2] + HAND[1][2], abs=0.005)]
    assert _numbers(a, "median") == [pytest.approx(statistics.median([HAND[0][2], HAND[1][2]]), abs=0.005)]
    assert (_numbers(a, "sedation-none"), _numbers(a, "sedation-sedation"), _numbers(a, "sedation-ga")) == ([1], [1], [0])
    b = re.search(rf'data-hospital="{actors.hospital_b.code}" data-year="2025">(.*?)</tr>', by_all, re.S).group(1)  # type: ignore[union-attr]
    assert _numbers(b, "total") == [0.0] and _numbers(b, "sedation-ga") == [1]
    # Per tracer alone: the three children together.
    by_tracer = re.search(r'data-testid="by-tracer">(.*?)</table>', html, re.S).group(1)  # type: ignore[union-attr]
    assert _numbers(by_tracer, "exams") == [3] and _numbers(by_tracer, "total") == [pytest.approx(sum(h[2] for h in HAND.values()), abs=0.005)]
    # No child is named on the programme page.
    assert all(d.study.patient.study_id not in html for d in recorded)
    # A coordinator of hospital A: hospital A's exams only.
    mine = client_of(actors.coordinator_a).get(url).content.decode()
    assert f'data-hospital="{actors.hospital_a.code}"' in mine and f'data-hospital="{actors.hospital_b.code}"' not in mine


@pytest.mark.django_db
def test_summary_counts_protocol_and_sedation(actors: Actors, recorded: list[DoseResult]) -> None:
    rows = api_client(actors.data_manager).get(f"{API}dose-savings/summary/").json()
    a = next(r for r in rows if r["hospital"] == actors.hospital_a.code)
    assert (a["protocol_low_dose"], a["protocol_standard"], a["sedation_none"], a["sedation_sedation"]) == (2, 0, 1, 1)
    assert a["median_saving_percent"] == pytest.approx(100 * 100 / 120)
    [row] = api_client(actors.coordinator_b).get(f"{API}dose-savings/").json()
    assert (row["protocol"], row["sedation"], row["saving_percent"]) == ("standard", "general_anaesthesia", pytest.approx(0.0))
