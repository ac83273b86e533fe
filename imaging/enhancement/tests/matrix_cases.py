"""Endpoints of the enhancement app in the site-isolation matrix (see tests/matrix.py).

Models are programme-wide tools: every hospital member sees them, a data manager of every hospital registers one. A
run follows the source series' child's hospital.
"""
import io
import itertools
from datetime import date

from django.core.files.base import ContentFile

from imaging.enhancement.models import EnhancementRun
from imaging.enhancement.services import model_register
from imaging.enhancement.tests.onnx_graphs import mean_filter_onnx, sha256
from imaging.models import ImagingStudy, Series
from registry.tests.builders import consented_patient
from registry.tests.matrix_cases import NOT_A, SEE_A
from registry.tests.matrix_cases import arrange as arrange_registry
from tests.matrix import AUTHENTICATED, HOSPITAL_MEMBERS, Case, World, statuses

_uids = itertools.count(1)
NOT_DM = {"coordinator_a", "investigator_a", "monitor_a", "coordinator_b", "nobody"}


def _pet_series(actor, hospital) -> Series:  # type: ignore[no-untyped-def]
    patient = consented_patient(actor, hospital, sex="M", birth_date=date(2018, 5, 1), diagnosis_date=date(2020, 1, 10))
    n = next(_uids)
    study = ImagingStudy.objects.create(patient=patient, study_uid=f"2.25.8{n}", study_date=date(2020, 2, 1), tracer="F18_FDG",
                                        modality_group="pet_ct", status=ImagingStudy.Status.READY)
    return Series.objects.create(study=study, series_uid=f"2.25.8{n}01", modality="PT", series_number=1,
                                 pipeline_state=Series.PipelineState.DONE)


def _upload(actor: str) -> dict[str, object]:
    data = mean_filter_onnx()
    file = io.BytesIO(data)
    file.name = "model.onnx"
    return {"file": file, "sha256": sha256(data), "name": "mean3", "version": f"matrix {actor}",
            "voxel_size_mm": [2, 2, 2], "max_activity_mbq_per_kg": 1.0}


def arrange(world: World) -> None:
    arrange_registry(world)
    a = world.actors
    model = model_register(actor=a.data_manager, file=ContentFile(mean_filter_onnx()), sha256=sha256(mean_filter_onnx()),
                           name="mean3", version="arranged", voxel_size_mm=[2.0, 2.0, 2.0], max_activity_mbq_per_kg=1.0)
    runs = {key: EnhancementRun.objects.create(model=model, source=_pet_series(actor, hospital),
                                               outcome=EnhancementRun.Outcome.REFUSED, reason="voxel size")
            for key, actor, hospital in (("enhancement_run_a", a.coordinator_a, a.hospital_a),
                                         ("enhancement_run_b", a.coordinator_b, a.hospital_b))}
    world.rows.update({"enhancement_model": model, **runs, "enhancement_series_a": runs["enhancement_run_a"].source})


CASES = [
    Case("enhancement model list", "enhancement-model-list", statuses(ok=AUTHENTICATED), universe=("enhancement_model",),
         visible={**{actor: {"enhancement_model"} for actor in HOSPITAL_MEMBERS}, "nobody": set()}),
    Case("enhancement model detail", "enhancement-model-detail", statuses(ok=HOSPITAL_MEMBERS, hidden={"nobody"}),
         args=lambda w: [w["enhancement_model"].pk]),
    Case("enhancement model register", "enhancement-model-list", statuses(ok={"data_manager"}, ok_status=201, forbidden=NOT_DM),
         method="post", data=lambda w, actor: _upload(actor), format="multipart"),
    Case("enhancement run list", "enhancement-run-list", statuses(ok=AUTHENTICATED),
         universe=("enhancement_run_a", "enhancement_run_b"),
         visible={**{actor: {"enhancement_run_a"} for actor in SEE_A}, "coordinator_b": {"enhancement_run_b"},
                  "data_manager": {"enhancement_run_a", "enhancement_run_b"}, "nobody": set()}),
    # Who may change the series queues its enhance step again; for the others the series "does not exist" (400).
    Case("enhancement enhance again", "enhancement-run-enhance-again",
         statuses(ok={"coordinator_a", "investigator_a", "data_manager"}, ok_status=202,
                  invalid={"monitor_a", "coordinator_b", "nobody"}),
         method="post", data=lambda w, actor: {"series": w["enhancement_series_a"].pk}),
    Case("enhancement run detail", "enhancement-run-detail", statuses(ok=SEE_A, hidden=NOT_A),
         args=lambda w: [w["enhancement_run_a"].pk]),
]


