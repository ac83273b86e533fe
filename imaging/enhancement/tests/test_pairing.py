"""An enhanced series is paired with its source automatically: a standard and a one-sixth-activity series of one study,
the demo's 3x3x3 mean model registered, protocols defined through the low-dose API; the ingest and pipeline run for
real (eager Celery on SQLite). The derived series lands in its source's study with DerivationDescription and
SourceImageSequence, QIDO finds it there, and the low-dose evaluation pairs it (low-dose source vs enhanced, standard vs
enhanced) and evaluates both pairs through the work engine."""
import io

import pytest

from conftest import Actors, api_client
from imaging import synthetic
from imaging.enhancement.demo_model import mean_filter_onnx, sha256
from imaging.enhancement.models import EnhancementRun
from imaging.models import Series
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done
from imaging.tests.helpers import child, like
from imaging.volume import published_instances, read_dataset

pytestmark = pytest.mark.usefixtures("eager")
SERIES_UID = "0020000E"


def _protocol(actors: Actors, name: str, reference_role: str, test_role: str) -> int:
    response = api_client(actors.data_manager).post("/api/v1/lowdose/protocols/", {
        "name": name, "reference_role": reference_role, "test_role": test_role,
        "acceptance_criteria": [{"metric": "suv_max_bias_percent", "max_abs": 10}, {"metric": "ssim", "min": 0.9}]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_enhanced_series_is_filed_with_its_source_paired_and_evaluated(actors, tmp_path,
                                                                       django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    kid = like(patient)
    ctx = synthetic.study_context(patient=kid, seed=11)
    size = {"n_slices": 8, "rows": 24, "cols": 24}
    standard = synthetic.pet_series(tracer="F18_FDG", patient=kid, seed=11, study=ctx, series_number=5, **size)
    low = synthetic.pet_series(tracer="F18_FDG", patient=kid, seed=11, study=ctx, series_number=3, low_dose=True, **size)
    first, second = low[0], low[1]
    spacing = [float(v) for v in first.PixelSpacing] + [abs(float(first.ImagePositionPatient[2]) - float(second.ImagePositionPatient[2]))]
    low_mbq_per_kg = float(first.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose) / 1e6 / float(first.PatientWeight)
    data = mean_filter_onnx()
    body = {"file": io.BytesIO(data), "sha256": sha256(data), "name": "mean3", "version": "1.0", "tracer": "F18_FDG",
            "voxel_size_mm": spacing, "max_activity_mbq_per_kg": low_mbq_per_kg * 1.5}  # the low-dose series only
    body["file"].name = "model.onnx"
    assert api_client(actors.data_manager).post("/api/v1/enhancement/models/", body, format="multipart").status_code == 201
    low_vs_enhanced = _protocol(actors, "1/6 activity vs enhanced", "low_activity", "enhanced")
    standard_vs_enhanced = _protocol(actors, "standard vs enhanced", "standard", "enhanced")
    standard_vs_low = _protocol(actors, "standard vs 1/6 activity", "standard", "low_activity")

    study = ingest_datasets(actors.coordinator_a, patient, [*standard, *low], tmp_path / "s", django_capture_on_commit_callbacks)
    by_number = {s.series_number: s for s in study.series.all()}
    assert sorted(by_number) == [3, 5, 903]  # the derived series is in the source's study
    pipeline_done(study)
    source, reference, derived = by_number[3], by_number[5], by_number[903]
    run = EnhancementRun.objects.get(outcome="done")
    assert (run.source_id, run.derived_id) == (source.pk, derived.pk)
    assert derived.frame_of_reference_uid == source.frame_of_reference_uid

    # DerivationDescription kept; every image names its source image, an instance of the source series.
    source_uids = {i.sop_instance_uid for i in published_instances(source)}
    headers = [read_dataset(i, pixels=False) for i in published_instances(derived)]
    assert len(headers) == 8
    assert all(ds.DerivationDescription.startswith("Enhanced by mean3 1.0") for ds in headers)
    assert {ds.SourceImageSequence[0].ReferencedSOPInstanceUID for ds in headers} == source_uids
    # QIDO-RS finds it in that study.
    response = api_client(actors.coordinator_a).get(f"/dicomweb/studies/{study.study_uid}/series")
    assert response.status_code == 200
    found = {item[SERIES_UID]["Value"][0] for item in response.json()}
    assert found == {source.series_uid, reference.series_uid, derived.series_uid}

    # Paired by the hook as the model's registrant (Source FOUND) under the two "enhanced" protocols, not the third.
    step = derived.pipeline_steps["enhance"]["result"]
    assert step["source"] == source.pk and len(step["lowdose"]["pairs"]) == 2
    pairs = api_client(actors.data_manager).get("/api/v1/lowdose/pairs/").json()["results"]
    got = {(p["protocol"], p["reference"], p["test"]): p for p in pairs}
    assert set(got) == {(low_vs_enhanced, source.pk, derived.pk), (standard_vs_enhanced, reference.pk, derived.pk)}
    assert standard_vs_low not in {p["protocol"] for p in pairs}
    for pair in got.values():
        assert pair["source"] == "found" and pair["status"] == "succeeded", pair
        metrics = pair["metrics"]
        assert metrics["grid"] == "same grid" and 0 < metrics["ssim"] < 1 and metrics["nrmse"] > 0
        assert [c["metric"] for c in metrics["criteria"]] == ["suv_max_bias_percent", "ssim"]
    # Smoothing the noisy low-dose image brings it closer to the standard one than the low-dose image itself is.
    low_vs_standard_nrmse = _nrmse_by_hand(reference, source)
    assert got[(standard_vs_enhanced, reference.pk, derived.pk)]["metrics"]["nrmse"] < low_vs_standard_nrmse

    # Analysing the derived series again (its enhance step re-queued) finds the same pairs: none added.
    again = Series.objects.get(pk=derived.pk)
    from imaging.enhancement.services import series_enhance

    assert series_enhance(again)["lowdose"]["pairs"] == step["lowdose"]["pairs"]
    assert api_client(actors.data_manager).get("/api/v1/lowdose/pairs/").json()["count"] == 2


def _nrmse_by_hand(reference: Series, test: Series) -> float:
    """NRMSE of the test against the reference in SUV, in the reference's body mask (nucmed's definitions)."""
    import numpy as np

    from imaging.volume import series_volume
    from nucmed import image_similarity as sim

    ref = np.asarray(series_volume(reference).data, dtype=float) * reference.suv.suv_bw_factor
    other = np.asarray(series_volume(test).data, dtype=float) * test.suv.suv_bw_factor
    return sim.image_similarity(ref, other, sim.body_mask(ref)).nrmse
