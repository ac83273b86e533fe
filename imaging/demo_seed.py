"""Demo imaging: synthetic PET/CT (FDG, DOTATATE, NaF; some low-dose) and 123I-MIBG SPECT/CT for registry
patients, pushed through the real ingest and pipeline (eager Celery in the demo), so every study gets its
dose result, SUV results and previews. One child in three has a second exam after induction (same tracer),
so the dose history shows a cumulative total; a quarter of the PET/CT studies carry a CT dose report (SR)."""
import random
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from django.db.models import Q
from django.utils import timezone
from pydicom.dataset import Dataset

from imaging import synthetic
from imaging.models import ImagingStudy
from imaging.services.ingest import IncomingFile, ingest
from registry.consent_rules import annotate_consent
from registry.demo.hooks import register_demo_seeder
from registry.models import Patient, User

PATIENTS_AT_SCALE_1 = 150  # plus a follow-up exam for one in three: ~200 studies
SEED = 20261128
FOLLOW_UP_EVERY = 3
# BodyPartExamined of the CT half (descriptions do not survive de-identification; the dose step reads this).
CT_BODY_PART = {"MIBG": "ABDOMEN"}  # the synthetic SPECT/CT field is centred on the upper abdomen; PET/CT is whole body


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
    studies = 0
    with tempfile.TemporaryDirectory(prefix="nbnm-demo-imaging-") as tmp:
        for n, patient in enumerate(chosen):
            kind = rng.choices(["MIBG", "F18_FDG", "GA68_DOTATATE", "F18_NAF"], weights=[45, 30, 15, 10])[0]
            first_date = patient.diagnosis_date + timedelta(days=rng.randint(3, 30))
            follow_up = first_date + timedelta(days=rng.randint(120, 180))  # after induction
            dates = [first_date] + ([follow_up] if n % FOLLOW_UP_EVERY == 0 and follow_up <= timezone.localdate() else [])
            for visit, study_date in enumerate(dates):
                datasets = _exam(rng, patient, kind, study_date, seed=SEED + n + 10_000 * visit)
                folder = Path(tmp) / f"{n:04d}-{visit}"
                folder.mkdir()
                paths = synthetic.write_series(datasets, folder)
                upload = ingest(actor=uploader, patient=patient, source="seed",
                                files=[IncomingFile(p.name, p) for p in paths])
                instances += upload.accepted
                studies += 1
    write(f"Demo imaging: {studies} studies of {len(chosen)} children ({instances} instances) ingested, de-identified, "
          f"indexed and analysed (SUV, dose, previews) in {time.perf_counter() - started:.1f} s")


def _exam(rng: random.Random, patient: Patient, kind: str, study_date: date, *, seed: int) -> list[Dataset]:
    """The datasets of one synthetic exam: the emission series, its CT (with BodyPartExamined), sometimes a dose SR."""
    age = (study_date - patient.birth_date).days / 365.25
    child = synthetic.PatientLike(study_id=patient.study_id, sex=patient.sex, birth_date=patient.birth_date,
                                  weight_kg=weight_for_age(age))
    size = {"n_slices": 16, "rows": 64, "cols": 64, "ct_rows": 64, "ct_cols": 64, "study_date": study_date}
    if kind == "MIBG":
        first, ct = synthetic.spect_ct_study(patient=child, seed=seed, **size)
    else:
        first, ct = synthetic.pet_ct_study(tracer=kind, patient=child, seed=seed, low_dose=rng.random() < 0.3, **size)
    for ds in ct:
        ds.BodyPartExamined = CT_BODY_PART.get(kind, "WHOLEBODY")
    extra = []
    if kind != "MIBG" and rng.random() < 0.25:
        dlp = float(ct[0].CTDIvol) * (len(ct) * float(ct[0].SliceThickness)) / 10 * rng.uniform(1.0, 1.15)  # scout and overranging
        extra.append(synthetic.ct_dose_sr(ct=ct, patient=child, dlp_mgy_cm=round(dlp, 2)))
    return [*first, *ct, *extra]
