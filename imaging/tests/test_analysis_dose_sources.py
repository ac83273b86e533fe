"""Dose inputs from other sources: CT dose from the CT images or a dose SR, and the trial's dosing record."""
import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from conftest import Actors
from imaging import synthetic
from imaging.models import DoseResult
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done
from imaging.tests.helpers import child, like
from nucmed.ssde import phantom_32_to_16
from registry.tests.builders import make_registry_consent
from trials.services.dosing import dosing_record_create
from trials.tests.builders import enrol, make_trial

pytestmark = pytest.mark.usefixtures("eager")
STUDY_DATE = date(2025, 3, 4)
AGE_5Y_TRUNK_K = 0.019  # mSv/(mGy cm), trunk, 5 y (reference section 4)


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)  # born 2019-03-15: 5.97 y at the exam


def _pet_ct(actors, patient, tmp_path, capture, *, sr_dlp: float | None = None, n: int = 4, body_part: str = "WHOLEBODY",  # type: ignore[no-untyped-def]
            thickness: float = 3.0):
    child_like = like(patient)
    pet, ct = synthetic.pet_ct_study(tracer="F18_FDG", patient=child_like, seed=21, n_slices=n, rows=16, cols=16, ct_rows=16, ct_cols=16,
                                     study_date=STUDY_DATE, slice_thickness_mm=thickness)
    for ds in ct:
        if body_part:
            ds.BodyPartExamined = body_part
    extra = [synthetic.ct_dose_sr(ct=ct, patient=child_like, dlp_mgy_cm=sr_dlp)] if sr_dlp is not None else []
    study = ingest_datasets(actors.coordinator_a, patient, [*pet, *ct, *extra], tmp_path / "s", capture)
    pipeline_done(study)
    return study, ct


def test_ct_dose_from_ctdivol_and_scan_length(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    study, ct = _pet_ct(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    dose = DoseResult.objects.get(study=study)
    ctdivol = float(ct[0].CTDIvol)  # 0.8 + 0.03 x 18 kg = 1.34 mGy on the 32 cm phantom
    length_cm = (3 * 3.0 + 3.0) / 10  # 4 slices 3 mm apart, plus one slice thickness
    assert dose.ct_dlp_source == "ctdivol" and dose.ct_dlp_mgy_cm == pytest.approx(ctdivol * length_cm)
    assert dose.ct_phantom_cm == 32
    assert dose.ct_region == "trunk" and dose.ct_region_source == "BodyPartExamined"
    # The DLP is on the 32 cm phantom and the paediatric k-factor on the 16 cm one: converted by f32/f16 (AAPM 204) at the
    # water-equivalent diameter measured on the CT's central slice (issue 15: the unconverted DLP halved the dose).
    assert dose.ct_dw_cm is not None and 8 <= dose.ct_dw_cm <= 30
    factor = phantom_32_to_16(dose.ct_dw_cm)
    assert dose.ct_k_factor == AGE_5Y_TRUNK_K
    assert dose.ct_msv == pytest.approx(ctdivol * length_cm * factor * AGE_5Y_TRUNK_K, abs=1e-4)
    [event] = dose.ct_events
    assert event["basis_cm"] == 16 and event["phantom_factor"] == pytest.approx(factor) and event["table"] == dose.ct_table
    assert dose.ct_by_region == {"trunk": pytest.approx(dose.ct_msv)}
    # SSDE beside the CTDIvol it comes from (AAPM 204 32 cm fit at the measured Dw).
    assert dose.ct_ctdivol_mgy == pytest.approx(ctdivol) and dose.ct_ssde_mgy == pytest.approx(
        ctdivol * 3.704369 * math.exp(-0.03671937 * dose.ct_dw_cm), rel=1e-3)
    assert dose.complete and dose.total_msv == pytest.approx(dose.radiopharmaceutical_msv + dose.ct_msv)
    assert dose.ct_table


def test_region_from_a_scan_covering_the_trunk(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    # No BodyPartExamined: 30 slices x 15 mm = 45 cm >= 40 % of the child's 108 cm.
    study, _ = _pet_ct(actors, patient, tmp_path, django_capture_on_commit_callbacks, n=30, body_part="", thickness=15.0)
    dose = DoseResult.objects.get(study=study)
    assert dose.ct_region == "trunk" and dose.ct_region_source.startswith("scan length")
    assert dose.ct_msv == pytest.approx(dose.ct_dlp_mgy_cm * phantom_32_to_16(dose.ct_dw_cm) * AGE_5Y_TRUNK_K, abs=1e-4)


def test_ct_dose_from_the_dose_report_wins(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    study, _ = _pet_ct(actors, patient, tmp_path, django_capture_on_commit_callbacks, sr_dlp=55.5)
    dose = DoseResult.objects.get(study=study)
    assert (dose.ct_dlp_source, dose.ct_dlp_mgy_cm, dose.ct_phantom_cm) == ("sr", 55.5, 32)
    assert dose.ct_region == "trunk" and dose.ct_region_source == "SR target region"
    assert dose.ct_msv == pytest.approx(55.5 * phantom_32_to_16(dose.ct_dw_cm) * AGE_5Y_TRUNK_K, abs=1e-4)


def test_dose_report_arriving_later_updates_the_exam(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    study, ct = _pet_ct(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    assert DoseResult.objects.get(study=study).ct_dlp_source == "ctdivol"
    sr = synthetic.ct_dose_sr(ct=ct, patient=like(patient), dlp_mgy_cm=80.0)
    ingest_datasets(actors.coordinator_a, patient, [sr], tmp_path / "sr", django_capture_on_commit_callbacks)
    dose = DoseResult.objects.get(study=study)
    assert (dose.ct_dlp_source, dose.ct_dlp_mgy_cm) == ("sr", 80.0)


def test_unknown_body_region_makes_the_ct_dose_not_available(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    nm, ct = synthetic.spect_ct_study(patient=like(patient), seed=22, n_slices=4, rows=16, cols=16, ct_rows=16, ct_cols=16,
                                      study_date=STUDY_DATE)
    study = ingest_datasets(actors.coordinator_a, patient, [*nm, *ct], tmp_path / "m", django_capture_on_commit_callbacks)
    pipeline_done(study)
    dose = DoseResult.objects.get(study=study)
    assert dose.ct_dlp_mgy_cm is not None and dose.ct_msv is None and "body region" in dose.ct_not_available
    # 123I-MIBG, 5 y band: 0.036 mSv/MBq (UNVERIFIED child coefficient, flagged).
    assert dose.radiopharmaceutical_coefficient == 0.036 and dose.details["radiopharmaceutical_coefficient_unverified"] is True
    assert not dose.complete and dose.total_msv == pytest.approx(dose.radiopharmaceutical_msv)


def test_trial_dosing_record_is_the_activity_source(actors, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    tz = ZoneInfo("Asia/Shanghai")
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NAF-9", agent_code="F18_NAF", dosage_table="north_america")
    with time_machine.travel(datetime(2026, 6, 30, 8, 0, tzinfo=tz), tick=False):
        subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    injected = datetime(2026, 6, 30, 9, 0, tzinfo=tz)
    record = dosing_record_create(actor=actors.coordinator_a, subject=subject, lot_number="L1", calibrated_activity_mbq=Decimal("42"),
                                  calibrated_at=injected, administered_activity_mbq=Decimal("42"), administered_at=injected,
                                  residual_activity_mbq=Decimal("0"), residual_measured_at=None, weight_kg=Decimal("20"),
                                  now=injected + timedelta(hours=2))
    patient = subject.patient
    make_registry_consent(actors.coordinator_a, patient)  # imaging needs the registry consent (enrolment needs the trial's)
    child_like = like(patient, weight_kg=20.0)
    ctx = synthetic.study_context(patient=child_like, seed=30, study_date=date(2026, 6, 30))
    pet = synthetic.pet_series(tracer="F18_NAF", patient=child_like, seed=30, n_slices=3, rows=16, cols=16, study=ctx, injected_mbq=40)
    study = ingest_datasets(actors.coordinator_a, patient, pet, tmp_path / "t", django_capture_on_commit_callbacks)
    pipeline_done(study)
    dose = DoseResult.objects.get(study=study)
    assert dose.activity_source == "trial_dosing" and dose.details["activity"]["dosing_record"] == record.pk
    assert dose.administered_activity_mbq == pytest.approx(42.0)  # the record's net activity, not the DICOM's 40 MBq
    assert dose.administered_at == injected
    # The trial's table (North American): 2.22 MBq/kg x 20 kg = 44.4 MBq; deviation (42 - 44.4) / 44.4.
    assert dose.recommended_activity_mbq == pytest.approx(44.4) and dose.recommendation_table.startswith("north_america")
    assert dose.activity_deviation_percent == pytest.approx(-5.41, abs=0.01)
    # 7.3 y at the exam: the 5 y band, 0.086 mSv/MBq for 18F-NaF.
    assert dose.radiopharmaceutical_msv == pytest.approx(42 * 0.086)
