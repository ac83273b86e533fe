"""Demo low-dose evaluation (issue 18 item 6): a few children's standard FDG PET with low-count versions synthesised
from it, a demonstration enhancement model, protocols, and their pairs evaluated, so the evaluation pages, a reading
session over a protocol and the validation report have data.

For each chosen child (consented, no PET in the demo yet, so no exam's dose is counted twice) one staging FDG PET study
is written: the standard series (imaging.synthetic, as the demo imaging's) and, synthesised from its pixels by
Poisson thinning (imaging.lowdose.synthesis), a one-sixth-activity series and a 3-minute whole-body scan of the same
study and frame of reference. All three are ingested like any upload and analysed by the pipeline, whose "enhance" step
runs the demonstration model (a 3x3x3 mean filter, "DEMO smoothing (not a clinical model)") on the one-sixth-activity
series; the enhanced series lands in the same study and is paired by the enhancement hook. The pairs of the other
protocols are found from the series' attributes (pairs_find), and every pair is evaluated here, at once.

Runs after the demo imaging (order 20) and the demo reads (30, 35), which do not need it; the model stays registered and
active, so a low-dose FDG series uploaded into the demo later is enhanced too.
"""
import io
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils import timezone

from imaging import synthetic
from imaging.demo_seed import weight_for_age
from imaging.enhancement import demo_model
from imaging.enhancement.models import EnhancementModel
from imaging.enhancement.services import model_register
from imaging.lowdose import synthesis
from imaging.lowdose.models import EvaluationPair, EvaluationProtocol, SeriesRole
from imaging.lowdose.services import pairs_find, protocol_create
from imaging.models import ImagingStudy, Series
from imaging.services.ingest import IncomingFile, ingest
from registry.consent_rules import annotate_consent
from registry.demo.hooks import register_demo_seeder
from registry.errors import ApplicationError
from registry.models import Patient, User
from registry.services.work import work_execute

SEED = 20261206
CHILDREN_AT_SCALE_1 = 3  # a few: the whole part costs a few seconds of CPU (docs/imaging/low-dose.md, Demo data)
SIZE = {"n_slices": 16, "rows": 64, "cols": 64}  # as the demo imaging's PET
STAGING_DAYS = 12
# Series numbers: the standard first (the dose step reads the study's first emission series), the synthesised ones after.
STANDARD_NUMBER, LOW_ACTIVITY_NUMBER, SHORT_SCAN_NUMBER = 3, 30, 31
# Pre-declared acceptance criteria of every demo protocol (metrics of imaging.lowdose.services.CRITERION_METRICS).
CRITERIA = [{"metric": "suv_max_bias_percent", "max_abs": 10}, {"metric": "ssim", "min": 0.9}, {"metric": "nrmse", "max": 0.2}]
PROTOCOLS = (
    ("DEMO standard vs 1/6 activity", SeriesRole.STANDARD, SeriesRole.LOW_ACTIVITY),
    ("DEMO standard vs 3-minute scan", SeriesRole.STANDARD, SeriesRole.SHORT_SCAN),
    ("DEMO 1/6 activity vs enhanced", SeriesRole.LOW_ACTIVITY, SeriesRole.ENHANCED),
    ("DEMO standard vs enhanced", SeriesRole.STANDARD, SeriesRole.ENHANCED),
)
# The demonstration model runs on FDG series injected with at most this activity per kg: one sixth of the standard
# 3.7-5.2 MBq/kg (imaging.synthetic's table) is 0.6-0.9; the standard and the 3-minute series are above it.
DEMO_MAX_MBQ_PER_KG = 1.5
# A mean filter has no voxel size of its own: the contract's voxel size is the first child's, with a tolerance wide
# enough for every child's (the demo PET's field of view follows the child's height); modality, tracer and units hold.
DEMO_VOXEL_TOLERANCE_MM = 50.0


def candidates() -> list[Patient]:
    """Consented children alive and in contact, without a PET study in the demo, whose staging date has passed."""
    pet = ImagingStudy.objects.filter(patient=OuterRef("pk"), modality_group=ImagingStudy.ModalityGroup.PET_CT)
    latest = timezone.localdate() - timedelta(days=STAGING_DAYS)
    return list(annotate_consent(Patient.objects.all(), on=timezone.localdate())
                .filter(has_registry_consent=True, death_date__isnull=True, contact_withdrawn_on__isnull=True,
                        data_use_withdrawn_on__isnull=True, diagnosis_date__lte=latest)
                .exclude(Exists(pet)).order_by("study_id"))


def _child(patient: Patient) -> synthetic.PatientLike:
    on = patient.diagnosis_date + timedelta(days=STAGING_DAYS)
    return synthetic.PatientLike(study_id=patient.study_id, sex=patient.sex, birth_date=patient.birth_date,
                                 weight_kg=weight_for_age((on - patient.birth_date).days / 365.25))


def study_datasets(patient: Patient, k: int) -> list[Any]:
    """The standard FDG PET series and its two synthesised low-count versions, one study, one frame of reference."""
    child = _child(patient)
    on = patient.diagnosis_date + timedelta(days=STAGING_DAYS)
    ctx = synthetic.study_context(patient=child, seed=SEED + k, study_date=on, description="PET FDG WHOLE BODY LOW-DOSE VALIDATION")
    standard = synthetic.pet_series(tracer="F18_FDG", patient=child, seed=SEED + k, study=ctx, series_number=STANDARD_NUMBER, **SIZE)
    beds = synthesis.whole_body_beds(synthetic.phantom_height_mm(child.height_cm, child.weight_kg))
    short = synthesis.short_scan_fraction(frame_s_per_bed=float(standard[0].ActualFrameDuration) / 1000.0, beds=beds)
    low = synthesis.low_count_series(standard, seed=SEED + k, series_number=LOW_ACTIVITY_NUMBER, label="1/6 ACTIVITY (SIMULATED)",
                                     activity_fraction=synthesis.LOW_ACTIVITY_FRACTION)
    quick = synthesis.low_count_series(standard, seed=SEED + k, series_number=SHORT_SCAN_NUMBER, label="3 MIN (SIMULATED)",
                                       time_fraction=short)
    return [*standard, *low, *quick]


def _spacing(datasets: list[Any]) -> list[float]:
    first, second = datasets[0], datasets[1]
    return [float(v) for v in first.PixelSpacing] + [abs(float(first.ImagePositionPatient[2]) - float(second.ImagePositionPatient[2]))]


def register_demo_model(uploader: User, spacing: list[float]) -> tuple[EnhancementModel | None, str]:
    """The demonstration model, registered through the service (checksum, ONNX Runtime load, audit); or why not."""
    existing = EnhancementModel.objects.filter(name=demo_model.DEMO_NAME, version=demo_model.DEMO_VERSION).first()
    if existing is not None:
        return existing, ""
    try:
        data = demo_model.mean_filter_onnx(name="demo_mean3")
    except ImportError:
        return None, "the onnx package is not installed (dev extra)"
    try:
        model = model_register(actor=uploader, file=io.BytesIO(data), sha256=demo_model.sha256(data), name=demo_model.DEMO_NAME,
                               version=demo_model.DEMO_VERSION, tracer="F18_FDG", voxel_size_mm=spacing,
                               voxel_tolerance_mm=DEMO_VOXEL_TOLERANCE_MM, max_activity_mbq_per_kg=DEMO_MAX_MBQ_PER_KG,
                               description=demo_model.DEMO_DESCRIPTION)
    except ApplicationError as exc:  # ONNX Runtime missing (the "enhance" extra): the evaluation is seeded without it
        return None, str(exc)
    return model, ""


def demo_protocols(uploader: User) -> list[EvaluationProtocol]:
    out = []
    for name, reference, test in PROTOCOLS:
        existing = EvaluationProtocol.objects.filter(name=name).first()
        out.append(existing or protocol_create(
            actor=uploader, name=name, reference_role=reference, test_role=test, acceptance_criteria=CRITERIA,
            description="Demonstration protocol: the test series are simulated (Poisson thinning) or made by a demonstration "
                        "model, not acquired."))
    return out


def _analyse(study: ImagingStudy) -> None:
    """Run what is still pending in the study here (a deployment with a broker queued it to its workers): the enhance
    step of the one-sixth series adds the enhanced series, whose own analysis is then pending in turn."""
    while pending := list(Series.objects.filter(study=study, pipeline_state=Series.PipelineState.PENDING).values_list("pk", flat=True)):
        for pk in pending:
            work_execute(model=Series, pk=pk)


def seed_lowdose_demo(*, uploader: User, patients: list[Patient], write: Callable[[str], None]) -> dict[str, Any]:
    """The demo for `patients` (each gets one validation study); what was made, for the summary line and the tests."""
    if not patients:
        return {"studies": 0, "pairs": 0, "evaluated": 0, "derived": 0, "model": "none: no child to seed"}
    datasets = [study_datasets(patient, k) for k, patient in enumerate(patients)]
    model, why_not = register_demo_model(uploader, _spacing(datasets[0]))
    if model is None:
        write(f"Demo low-dose: no enhancement model ({why_not}); the low-count pairs are seeded without it.")
    protocols = demo_protocols(uploader)
    studies = []
    with tempfile.TemporaryDirectory(prefix="nbnm-demo-lowdose-") as tmp:
        for k, (patient, files) in enumerate(zip(patients, datasets, strict=True)):
            paths = synthetic.write_series(files, Path(tmp) / f"{k:02d}")
            upload = ingest(actor=uploader, patient=patient, source="seed", files=[IncomingFile(p.name, p) for p in paths])
            study = ImagingStudy.objects.filter(series__instances__upload=upload).distinct().get()
            _analyse(study)
            studies.append(study)
    for study in studies:
        for protocol in protocols:  # the enhanced pairs exist already (the hook); finding them again adds none
            pairs_find(actor=uploader, protocol=protocol, study=study)
    pairs = EvaluationPair.objects.filter(reference__study__in=studies)
    for pk in pairs.filter(status=EvaluationPair.Status.PENDING).values_list("pk", flat=True):
        work_execute(model=EvaluationPair, pk=pk)
    derived = Series.objects.filter(study__in=studies, series_number__gt=SHORT_SCAN_NUMBER).count()
    return {"studies": len(studies), "pairs": pairs.count(), "derived": derived,
            "evaluated": pairs.filter(status=EvaluationPair.Status.SUCCEEDED).count(), "model": model.label if model else why_not}


@register_demo_seeder("lowdose", order=40)
def seed_lowdose(actor: User, scale: float, write: Callable[[str], None]) -> None:  # noqa: ARG001
    if EvaluationProtocol.objects.filter(name__in=[name for name, _, _ in PROTOCOLS]).exists():
        write("Demo low-dose evaluation already present: nothing added.")
        return
    uploader = User.objects.filter(memberships__hospital__isnull=True, memberships__role="data_manager").first()
    if uploader is None:
        write("No all-hospitals data manager: demo low-dose evaluation skipped.")
        return
    wall, cpu = time.perf_counter(), time.process_time()
    chosen = candidates()[: max(1, round(CHILDREN_AT_SCALE_1 * min(scale, 1.0)))]
    made = seed_lowdose_demo(uploader=uploader, patients=chosen, write=write)
    write(f"Demo low-dose evaluation: {made['studies']} studies (standard FDG PET, simulated 1/6 activity and 3-minute scan), "
          f"{made['derived']} enhanced series by {made['model']}, {made['evaluated']} of {made['pairs']} pairs evaluated, "
          f"{len(PROTOCOLS)} protocols, in {time.perf_counter() - wall:.1f} s ({time.process_time() - cpu:.1f} s CPU)")
