"""The dose step and the child's dose history: activity from DICOM, recommendation, effective dose, cumulative total."""
from datetime import date
from pathlib import Path

import pytest

from conftest import Actors, api_client
from imaging import synthetic
from imaging.models import DoseResult, ImagingStudy
from imaging.services.dose import study_dose_compute
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done
from imaging.tests.helpers import child, like
from registry.models import AuditEvent

pytestmark = pytest.mark.usefixtures("eager")


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)  # F, born 2019-03-15


def _pet(actors, patient, tmp_path: Path, capture, *, tracer: str = "F18_FDG", seed: int = 1,  # type: ignore[no-untyped-def]
         study_date: date = date(2025, 3, 4), with_ct: bool = False, sr_dlp: float | None = None) -> ImagingStudy:
    child_like = like(patient)
    if with_ct or sr_dlp is not None:
        pet, ct = synthetic.pet_ct_study(tracer=tracer, patient=child_like, seed=seed, n_slices=4, rows=16, cols=16, ct_rows=16,
                                         ct_cols=16, study_date=study_date)
        datasets = [*pet, *ct] + ([synthetic.ct_dose_sr(ct=ct, patient=child_like, dlp_mgy_cm=sr_dlp)] if sr_dlp is not None else [])
    else:
        ctx = synthetic.study_context(patient=child_like, seed=seed, study_date=study_date)
        datasets = synthetic.pet_series(tracer=tracer, patient=child_like, seed=seed, n_slices=4, rows=16, cols=16, study=ctx)
    study = ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / f"s{seed}", capture)
    pipeline_done(study)
    return study


def test_dicom_activity_recommendation_and_effective_dose(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    study = _pet(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    dose = DoseResult.objects.get(study=study)
    # The generator injects the North American activity for 18 kg: 3.7 MBq/kg x 18 kg = 66.6 MBq.
    assert dose.activity_source == "dicom" and dose.administered_activity_mbq == pytest.approx(66.6)
    # EANM card (the default site table), 18F-FDG 3D: class B, baseline 14.0 MBq x 4.43 (18 kg row) = 62.02 MBq.
    assert dose.recommended_activity_mbq == pytest.approx(62.02) and dose.recommendation_table.startswith("eanm")
    assert dose.activity_deviation_percent == pytest.approx((66.6 - 62.02) / 62.02 * 100, abs=0.01)
    # Age at the exam 5.97 y -> the 5 y band: 0.056 mSv/MBq for 18F-FDG.
    assert dose.age_years == pytest.approx((date(2025, 3, 4) - date(2019, 3, 15)).days / 365.25, abs=0.01)
    assert dose.radiopharmaceutical_age_band == "5y" and dose.radiopharmaceutical_coefficient == 0.056
    assert dose.radiopharmaceutical_msv == pytest.approx(66.6 * 0.056)
    assert dose.ct_msv is None and dose.ct_not_available == "" and dose.complete  # no CT in this exam
    assert dose.total_msv == pytest.approx(66.6 * 0.056) and dose.radiopharmaceutical_table
    assert AuditEvent.objects.filter(action="compute_dose", object_id=str(dose.pk)).count() == 1


def test_recompute_without_change_writes_nothing(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    study = _pet(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    before = DoseResult.objects.get(study=study)
    events = AuditEvent.objects.count()
    study_dose_compute(study=study)
    assert AuditEvent.objects.count() == events
    assert DoseResult.objects.get(study=study).computed_at == before.computed_at


def test_missing_coefficient_is_not_available(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    study = _pet(actors, patient, tmp_path, django_capture_on_commit_callbacks, tracer="GA68_DOTATATE")
    dose = DoseResult.objects.get(study=study)
    assert dose.administered_activity_mbq is not None and dose.radiopharmaceutical_msv is None
    assert dose.radiopharmaceutical_age_band == "5y" and "5y" in dose.radiopharmaceutical_not_available
    assert not dose.complete and dose.total_msv is None


def test_cumulative_dose_is_the_sum_over_exams(actors, patient, tmp_path, django_capture_on_commit_callbacks,
                                               django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    capture = django_capture_on_commit_callbacks
    studies = [_pet(actors, patient, tmp_path, capture, seed=1, study_date=date(2025, 3, 4)),
               _pet(actors, patient, tmp_path, capture, seed=2, study_date=date(2025, 9, 1)),
               _pet(actors, patient, tmp_path, capture, seed=3, study_date=date(2024, 11, 20), tracer="F18_NAF")]
    client = api_client(actors.investigator_a)
    with django_assert_max_num_queries(9):  # session, user, scope, patient, studies+doses: not one per exam
        response = client.get(f"/api/v1/imaging/patients/{patient.study_id}/dose-history/")
    assert response.status_code == 200
    body = response.json()
    totals = {s.pk: DoseResult.objects.get(study=s).total_msv for s in studies}
    assert body["cumulative_msv"] == pytest.approx(sum(totals.values()))
    assert [e["study_date"] for e in body["exams"]] == ["2024-11-20", "2025-03-04", "2025-09-01"]
    running = 0.0
    for exam in body["exams"]:
        running += totals[exam["study"]]
        assert exam["total_msv"] == pytest.approx(totals[exam["study"]]) and exam["cumulative_msv"] == pytest.approx(running)
    assert body["complete"] is True
    # 18F-NaF: the EANM card has no row, so the North American table is used and said so.
    naf = DoseResult.objects.get(study=studies[2])
    assert naf.recommendation_table.startswith("north_america") and "recommendation_fallback" in naf.details
    # Another hospital's coordinator does not learn that the child exists.
    assert api_client(actors.coordinator_b).get(f"/api/v1/imaging/patients/{patient.study_id}/dose-history/").status_code == 404


def test_history_lists_an_exam_without_a_computed_dose_as_incomplete(actors, patient, tmp_path,  # type: ignore[no-untyped-def]
                                                                      django_capture_on_commit_callbacks) -> None:
    study = _pet(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    DoseResult.objects.filter(study=study).delete()
    body = api_client(actors.coordinator_a).get(f"/api/v1/imaging/patients/{patient.study_id}/dose-history/").json()
    assert body["complete"] is False and body["cumulative_msv"] == 0
    assert "not been computed" in body["exams"][0]["not_available"][0]


def test_dose_results_api_is_scoped(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    study = _pet(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    dose = DoseResult.objects.get(study=study)
    ok = api_client(actors.coordinator_a).get(f"/api/v1/imaging/dose-results/{dose.pk}/")
    assert ok.status_code == 200 and ok.json()["radiopharmaceutical_msv"] == pytest.approx(dose.radiopharmaceutical_msv)
    assert api_client(actors.coordinator_b).get(f"/api/v1/imaging/dose-results/{dose.pk}/").status_code == 404
    listed = api_client(actors.coordinator_a).get("/api/v1/imaging/dose-results/", {"study__patient__study_id": patient.study_id})
    assert [row["id"] for row in listed.json()["results"]] == [dose.pk]


def test_analysis_results_in_the_admin(client, actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    _pet(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    actors.data_manager.is_staff = True
    actors.data_manager.save(update_fields=["is_staff"])
    client.force_login(actors.data_manager)
    for name in ("doseresult", "suvresult", "voimeasurement"):
        assert client.get(f"/admin/imaging/{name}/").status_code == 200, name


def test_the_site_dosage_table_is_the_hospitals_choice(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    from registry.services.hospitals import hospital_update

    hospital_update(actor=actors.data_manager, hospital=actors.hospital_a, data={"dosage_table": "north_america"},
                    reason="site follows the SNMMI/SPR consensus")
    study = _pet(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    dose = DoseResult.objects.get(study=study)
    # North American: 18F-FDG 3.7 MBq/kg x 18 kg = 66.6 MBq, exactly what was given.
    assert dose.recommendation_table.startswith("north_america")
    assert dose.recommended_activity_mbq == pytest.approx(66.6) and dose.activity_deviation_percent == pytest.approx(0.0, abs=0.01)
