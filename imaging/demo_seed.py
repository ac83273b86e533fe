"""Demo imaging: synthetic PET/CT (FDG, DOTATATE, NaF; some low-dose) and 123I-MIBG SPECT/CT for registry
patients, pushed through the real ingest and pipeline (eager Celery in the demo)."""
import random
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.db.models import Q
from django.utils import timezone

from imaging import synthetic
from imaging.models import ImagingStudy
from imaging.services.ingest import IncomingFile, ingest
from registry.consent_rules import annotate_consent
from registry.demo.hooks import register_demo_seeder
from registry.models import Patient, User

PATIENTS_AT_SCALE_1 = 200
SEED = 20261128


def weight_for_age(years: float) -> float:
    """A rough median weight-for-age (kg) for believable activities; not a growth standard."""
    return round(3.5 + 6.5 * min(years, 1) + 2.3 * max(min(years, 12) - 1, 0) + 5.0 * max(years - 12, 0), 1)


@register_demo_seeder("imaging", order=20)
def seed_imaging(actor: User, scale: float, write: Callable[[str], None]) -> None:
    if ImagingStudy.objects.exists():
        write("Demo imaging already present: no studies added.")
        return
    uploader = User.objects.filter(memberships__hospital__isnull=True, memberships__role="data_manager").first()
    if uploader is None:
        write("No all-hospitals data manager to upload as: demo imaging skipped.")
        return
    wanted = max(1, round(PATIENTS_AT_SCALE_1 * scale))
    candidates = (annotate_consent(Patient.objects.all(), on=timezone.localdate())
                  .filter(Q(has_registry_consent=True), death_date__isnull=True, contact_withdrawn_on__isnull=True)
                  .order_by("study_id"))
    rng = random.Random(SEED)
    chosen = rng.sample(list(candidates), min(wanted, candidates.count()))
    started, instances = time.perf_counter(), 0
    with tempfile.TemporaryDirectory(prefix="nbnm-demo-imaging-") as tmp:
        for n, patient in enumerate(chosen):
            study_date = patient.diagnosis_date + timedelta(days=rng.randint(3, 30))
            age = (study_date - patient.birth_date).days / 365.25
            child = synthetic.PatientLike(study_id=patient.study_id, sex=patient.sex, birth_date=patient.birth_date,
                                          weight_kg=weight_for_age(age))
            kind = rng.choices(["MIBG", "F18_FDG", "GA68_DOTATATE", "F18_NAF"], weights=[45, 30, 15, 10])[0]
            size = {"n_slices": 16, "rows": 64, "cols": 64, "ct_rows": 64, "ct_cols": 64, "study_date": study_date}
            if kind == "MIBG":
                first, ct = synthetic.spect_ct_study(patient=child, seed=SEED + n, **size)
            else:
                first, ct = synthetic.pet_ct_study(tracer=kind, patient=child, seed=SEED + n, low_dose=rng.random() < 0.3,
                                                   **size)
            folder = Path(tmp) / f"{n:04d}"
            folder.mkdir()
            paths = synthetic.write_series([*first, *ct], folder)
            upload = ingest(actor=uploader, patient=patient, source="seed",
                            files=[IncomingFile(p.name, p) for p in paths])
            instances += upload.accepted
    write(f"Demo imaging: {len(chosen)} studies ({instances} instances) ingested, de-identified and indexed in "
          f"{time.perf_counter() - started:.1f} s")
