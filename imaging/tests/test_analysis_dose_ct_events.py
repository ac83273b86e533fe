"""CT dose per irradiation event through the dose step; table versions kept on stored results; dose_recompute."""
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from conftest import Actors
from imaging import synthetic
from imaging.models import DoseResult
from imaging.services.dose import study_dose_compute
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done
from imaging.tests.helpers import child, like
from nucmed.tables import ct_k_factors
from registry.models import AuditEvent
from registry.tests.builders import client_of, text

pytestmark = pytest.mark.usefixtures("eager")


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)  # born 2019-03-15: 5.97 y at the exam, the 5 y band


def _head_and_trunk(actors, patient, tmp_path, capture):  # type: ignore[no-untyped-def]
    child_like = like(patient)
    pet, ct = synthetic.pet_ct_study(tracer="F18_FDG", patient=child_like, seed=41, n_slices=4, rows=16, cols=16, ct_rows=16, ct_cols=16,
                                     study_date=date(2025, 3, 4))
    head = synthetic.ct_dose_sr(ct=ct, patient=child_like, dlp_mgy_cm=300.0, phantom_cm=16, region="head", series_number=998)
    trunk = synthetic.ct_dose_sr(ct=ct, patient=child_like, dlp_mgy_cm=150.0, phantom_cm=16, region="trunk", series_number=999)
    study = ingest_datasets(actors.coordinator_a, patient, [*pet, *ct, head, trunk], tmp_path / "ht", capture)
    pipeline_done(study)
    return study


def test_mixed_head_and_trunk_exam(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 defect 2, through the dose step. 5-year-old, head 300 mGy·cm + trunk 150 mGy·cm on the 16 cm phantom
    (two dose-report events): 0.004 x 300 + 0.019 x 150 = 4.05 mSv (Shrimpton k, PMC3326072); one factor gave 8.55 mSv."""
    study = _head_and_trunk(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    dose = DoseResult.objects.get(study=study)
    assert dose.ct_msv == pytest.approx(4.05, rel=1e-3) and dose.ct_dlp_mgy_cm == pytest.approx(450.0)
    assert dose.ct_by_region == {"head": pytest.approx(1.2), "trunk": pytest.approx(2.85)}
    assert sorted((e["region"], e["k"], e["phantom_cm"], e["age_band"]) for e in dose.ct_events) == [
        ("head", 0.004, 16, "5y"), ("trunk", 0.019, 16, "5y")]
    assert dose.ct_region == "multiple" and dose.ct_k_factor is None and dose.ct_table == ct_k_factors.VERSION
    assert dose.complete and dose.total_msv == pytest.approx(dose.radiopharmaceutical_msv + 4.05, rel=1e-3)
    # The child's cumulative dose page shows the exam's breakdown per event with the table versions.
    body = text(client_of(actors.coordinator_a).get(reverse("web-patient-detail", args=[patient.study_id])))
    assert 'data-testid="dose-breakdown"' in body and ct_k_factors.VERSION in body and dose.radiopharmaceutical_table in body
    assert "<td>head</td>" in body and "<td>trunk</td>" in body and "<td>0.004</td>" in body and "<td>0.019</td>" in body


def test_stored_version_is_kept_and_recompute_moves_it_audited(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """A dose stored with the 2026.1 table keeps it when the dose step runs again; dose_recompute --table-version moves it,
    as the data manager, audited with the reason."""
    child_like = like(patient)
    pet, ct = synthetic.pet_ct_study(tracer="F18_FDG", patient=child_like, seed=42, n_slices=4, rows=16, cols=16, ct_rows=16, ct_cols=16,
                                     study_date=date(2025, 3, 4))
    sr = synthetic.ct_dose_sr(ct=ct, patient=child_like, dlp_mgy_cm=100.0, phantom_cm=32, region="chest")
    study = ingest_datasets(actors.coordinator_a, patient, [*pet, *ct, sr], tmp_path / "v", django_capture_on_commit_callbacks)
    pipeline_done(study)
    legacy = ct_k_factors.LEGACY.version
    old = study_dose_compute(study=study, ct_table=legacy)  # as a result stored before the 2026.2 table
    assert old.ct_table == legacy and old.ct_msv == pytest.approx(1.8)  # 0.018 x 100, the DLP as reported
    assert study_dose_compute(study=study).ct_msv == pytest.approx(1.8)  # the dose step keeps the stored version
    # Not a data manager: nothing is recomputed.
    call_command("dose_recompute", "--actor", actors.coordinator_a.username, "--table-version", ct_k_factors.VERSION)
    assert DoseResult.objects.get(study=study).ct_table == legacy
    call_command("dose_recompute", "--actor", actors.data_manager.username, "--patient", patient.study_id,
                 "--table-version", ct_k_factors.VERSION, "--reason", "phantom conversion")
    moved = DoseResult.objects.get(study=study)
    assert moved.ct_table == ct_k_factors.VERSION and moved.ct_msv == pytest.approx(1.8 * moved.ct_events[0]["phantom_factor"], abs=1e-4)
    assert 3.6 <= moved.ct_msv <= 3.8  # the 5-year-old's chest on the 32 cm phantom, about 3.6 mSv
    event = AuditEvent.objects.filter(action="compute_dose", object_id=str(moved.pk)).latest("id")
    assert event.actor == actors.data_manager and event.reason == "phantom conversion"
    assert event.before["ct_table"] == legacy and event.after["ct_table"] == ct_k_factors.VERSION


def test_recompute_refuses_a_table_that_is_not_shipped(actors) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="Deak"):
        call_command("dose_recompute", "--actor", actors.data_manager.username, "--table-version", "ct-k-icrp103-deak2010")
