"""Many patients written straight to the tables (no services, no audit): for query-count tests and the benchmark.

Deterministic (seeded). Each patient gets a registry consent, follow-up visits (some done, one relapse in five,
one death in ten) and, for one in two, an imaging study with a dose result.
"""
import hashlib
from datetime import date, timedelta

import numpy as np

from imaging.models import ImagingStudy
from imaging.models.analysis import DoseResult
from registry.models import ConsentRecord, FollowUpVisit, Hospital, Patient, User
from registry.models.people import SYSTEM_USERNAME
from registry.tests.builders import default_document

RISKS = ("very_low", "low", "intermediate", "high")
STAGES = ("L1", "L2", "M", "MS")
MYCN = ("amplified", "not_amplified", "unknown")
TRACERS = ("I123_MIBG", "F18_FDG", "GA68_DOTATATE")


def bulk_cohort(hospital: Hospital, n: int, *, prefix: str, seed: int = 1, visits_per_patient: int = 4,
                batch: int = 5000) -> int:
    rng = np.random.default_rng(seed)
    system = User.objects.get(username=SYSTEM_USERNAME)
    document = default_document()
    start = date(2012, 1, 1)
    dx_offsets = rng.integers(0, 11 * 365, n)
    ages = rng.integers(1, 150, n)
    patients = []
    for i in range(n):
        dx = start + timedelta(days=int(dx_offsets[i]))
        birth = dx - timedelta(days=int(ages[i] * 30.4))
        patients.append(Patient(
            study_id=f"{prefix}{i:07d}"[:16], hospital=hospital, sex="MF"[i % 2], birth_date=birth, diagnosis_date=dx,
            age_at_diagnosis_months=int(ages[i]), primary_site="adrenal", inrgss_stage=STAGES[i % 4], inrg_risk=RISKS[(i // 4) % 4],
            cog_risk="", mycn=MYCN[i % 3], aberration_11q="no", ploidy="diploid", histology="unfavourable",
            record_number_hash=hashlib.sha256(f"{prefix}{i}".encode()).hexdigest(),
            death_date=dx + timedelta(days=400) if i % 10 == 0 else None, last_contact_date=dx + timedelta(days=90 * visits_per_patient)))
    Patient.objects.bulk_create(patients, batch_size=batch)
    saved = list(Patient.objects.filter(study_id__startswith=prefix).order_by("pk").values_list("pk", "diagnosis_date"))
    ConsentRecord.objects.bulk_create([ConsentRecord(patient_id=pk, document=document, assent="not_applicable", signed_date=dx,
                                                     recorded_by=system) for pk, dx in saved], batch_size=batch)
    visits, studies = [], []
    for i, (pk, dx) in enumerate(saved):
        for number in range(1, visits_per_patient + 1):
            target = dx + timedelta(days=91 * number)
            relapse = i % 5 == 0 and number == 2
            visits.append(FollowUpVisit(patient_id=pk, number=number, target_date=target, window_start=target - timedelta(days=14),
                                        window_end=target + timedelta(days=14), status="done" if number < visits_per_patient else "missed",
                                        visit_date=target if number < visits_per_patient else None, vital_status="alive",
                                        disease_status="PD" if relapse else "PR", event_date=target - timedelta(days=5) if relapse else None))
        if i % 2 == 0:
            studies.append(ImagingStudy(patient_id=pk, study_uid=f"2.25.{prefix}.{i}", study_date=dx + timedelta(days=3),
                                        tracer=TRACERS[i % 3], modality_group="pet_ct" if i % 3 else "spect_ct", status="ready"))
    FollowUpVisit.objects.bulk_create(visits, batch_size=batch)
    ImagingStudy.objects.bulk_create(studies, batch_size=batch)
    study_ids = list(ImagingStudy.objects.filter(study_uid__startswith=f"2.25.{prefix}.").values_list("pk", flat=True))
    DoseResult.objects.bulk_create([DoseResult(study_id=s, total_msv=float(2 + (s % 17)), complete=True) for s in study_ids],
                                   batch_size=batch)
    return n
