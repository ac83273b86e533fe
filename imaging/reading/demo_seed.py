"""Demo reads: two investigators' Curie and SIOPEN scores of MIBG studies at the lead hospital (baseline and after
induction, with realistic disagreement), consensus reads by the data manager, and a complete blinded low-dose vs
standard-dose reading session of PET pairs from other hospitals.

Adds one login, inv2_bjyy (a second investigator at BJYY, password as the other demo logins), because a
consensus and an agreement need two readers at the study's hospital.
"""
import random
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from imaging import synthetic
from imaging.demo_seed import weight_for_age
from imaging.models import ImagingStudy, Series, Upload
from imaging.reading import rules
from imaging.reading.headline import seed_headline_comparison
from imaging.reading.models import ReadingSession, ScoreSheet
from imaging.reading.services.sessions import ItemInput, assignment_case_score, reading_session_create
from imaging.reading.services.sheets import (
    consensus_sheet_create,
    score_sheet_create,
    score_sheet_submit,
)
from imaging.services.ingest import IncomingFile, ingest
from registry.access import HospitalRole
from registry.consent_rules import annotate_consent
from registry.demo.hooks import register_demo_seeder
from registry.demo.people import demo_password_hash
from registry.models import Hospital, HospitalMembership, Patient, User
from registry.services.hospitals import membership_grant

SEED = 20261129
LEAD = "BJYY"
READERS = ("inv_bjyy", "inv2_bjyy")
SCORED_PATIENTS = 6  # at scale 1; at least 3
SESSION_PATIENTS = 6
INDUCTION_DAYS = 150
SIZE = {"n_slices": 16, "rows": 64, "cols": 64, "ct_rows": 64, "ct_cols": 64}


def _second_reader(actor: User) -> User:
    user, created = User.objects.get_or_create(username=READERS[1])
    if created:
        user.password = demo_password_hash()
        user.save(update_fields=["password"])
    lead = Hospital.objects.get(code=LEAD)
    if not HospitalMembership.objects.filter(user=user, hospital=lead, role=HospitalRole.INVESTIGATOR).exists():
        membership_grant(actor=actor, user=user, role=HospitalRole.INVESTIGATOR, hospital=lead, reason="demo seed")
    return user


def _candidates(hospitals: Q) -> list[Patient]:
    latest_diagnosis = timezone.localdate() - timedelta(days=INDUCTION_DAYS + 60)
    return list(annotate_consent(Patient.objects.filter(hospitals), on=timezone.localdate())
                .filter(has_registry_consent=True, death_date__isnull=True, contact_withdrawn_on__isnull=True,
                        diagnosis_date__lte=latest_diagnosis).order_by("study_id"))


def _like(patient: Patient, on: date) -> synthetic.PatientLike:
    return synthetic.PatientLike(study_id=patient.study_id, sex=patient.sex, birth_date=patient.birth_date,
                                 weight_kg=weight_for_age((on - patient.birth_date).days / 365.25))


def _ingest(uploader: User, patient: Patient, datasets: list, folder: Path) -> Upload:
    folder.mkdir()
    paths = synthetic.write_series(datasets, folder)
    return ingest(actor=uploader, patient=patient, source="seed", files=[IncomingFile(p.name, p) for p in paths])


def _mibg(uploader: User, patient: Patient, on: date, seed: int, tmp: Path) -> ImagingStudy:
    existing = ImagingStudy.objects.filter(patient=patient, tracer="I123_MIBG", study_date=on).first()
    if existing:
        return existing
    nm, ct = synthetic.spect_ct_study(patient=_like(patient, on), seed=seed, study_date=on, **SIZE)
    _ingest(uploader, patient, [*nm, *ct], tmp / f"mibg-{seed}")
    return ImagingStudy.objects.get(patient=patient, tracer="I123_MIBG", study_date=on)


def _burden(rng: random.Random, kind: str, extent: float) -> dict[str, int]:
    """A believable per-segment score: involvement in a fraction `extent` of segments, graded up to the maximum."""
    top = rules.max_segment_score(kind)
    return {code: (rng.randint(1, top) if rng.random() < extent else 0) for code in rules.segment_codes(kind)}


def _second_opinion(rng: random.Random, kind: str, first: dict[str, int]) -> dict[str, int]:
    """Another reader: the same picture, off by one grade in about one segment in five."""
    top = rules.max_segment_score(kind)
    return {code: min(top, max(0, v + rng.choice((-1, 1)))) if rng.random() < 0.2 else v for code, v in first.items()}


def _read(reader: User, study: ImagingStudy, kind: str, values: dict[str, int], timepoint: str) -> ScoreSheet:
    sheet = score_sheet_create(actor=reader, study=study, kind=kind, values=values, timepoint=timepoint)
    return score_sheet_submit(actor=reader, sheet=sheet)


def _seed_scores(actor: User, uploader: User, readers: list[User], rng: random.Random, n: int, tmp: Path) -> int:
    with_mibg = set(ImagingStudy.objects.filter(tracer="I123_MIBG", patient__hospital__code=LEAD)
                    .values_list("patient_id", flat=True))
    patients = sorted(_candidates(Q(hospital__code=LEAD)), key=lambda p: (p.pk not in with_mibg, p.study_id))[:n]
    consensus_left = 3
    sheets = 0
    for k, patient in enumerate(patients):
        # The demo imaging's MIBG study at diagnosis is the baseline when there is one; otherwise one is added.
        existing = ImagingStudy.objects.filter(patient=patient, tracer="I123_MIBG").order_by("study_date").first()
        baseline = existing or _mibg(uploader, patient, patient.diagnosis_date + timedelta(days=7), SEED + 2 * k, tmp)
        post = _mibg(uploader, patient, baseline.study_date + timedelta(days=INDUCTION_DAYS), SEED + 2 * k + 1, tmp)
        studies = [(baseline, "baseline", 0.6), (post, "post_induction", rng.choice((0.05, 0.15, 0.4)))]
        for study, timepoint, extent in studies:
            for kind in rules.SEGMENTED:
                first = _burden(rng, kind, extent)
                second = _second_opinion(rng, kind, first)
                a = _read(readers[0], study, kind, first, timepoint)
                b = _read(readers[1], study, kind, second, timepoint)
                sheets += 2
                if consensus_left and a.total != b.total:
                    agreed = {code: max(first[code], second[code]) for code in first}
                    sheet = consensus_sheet_create(actor=actor, study=study, kind=kind, values=agreed, timepoint=timepoint,
                                                   comment="Adjudicated at the tumour board review.")
                    score_sheet_submit(actor=actor, sheet=sheet)
                    consensus_left -= 1
                    sheets += 1
    return sheets


def _seed_session(actor: User, uploader: User, readers: list[User], rng: random.Random, n: int, tmp: Path) -> ReadingSession:
    patients = _candidates(~Q(hospital__code=LEAD))
    patients = rng.sample(patients, min(n, len(patients)))
    items: list[ItemInput] = []
    for k, patient in enumerate(patients):
        on = patient.diagnosis_date + timedelta(days=10)
        child = _like(patient, on)
        ctx = synthetic.study_context(patient=child, seed=SEED + 100 + k, study_date=on, description="PET/CT FDG WHOLE BODY")
        pair = {arm: synthetic.pet_series(tracer="F18_FDG", patient=child, seed=SEED + 100 + k, study=ctx, low_dose=low,
                                          series_number=3 if low else 5, n_slices=16, rows=64, cols=64)
                for arm, low in (("low-dose", True), ("standard-dose", False))}
        upload = _ingest(uploader, patient, [*pair["low-dose"], *pair["standard-dose"]], tmp / f"pet-{k}")
        for arm, datasets in pair.items():
            series = Series.objects.filter(instances__upload=upload, series_number=datasets[0].SeriesNumber).distinct().get()
            items.append(ItemInput(series, arm))
    session = reading_session_create(
        actor=actor, name="FDG PET: one-sixth activity vs standard activity", items=items, readers=readers, seed=SEED,
        instructions="Score each case on the four 5-point scales (5 = best; for noise, 5 = least noise).")
    for assignment in session.assignments.select_related("reader"):
        for case in assignment.cases.select_related("item").order_by("position"):
            # Low-dose images are noisier and a little less conspicuous; confidence suffers less.
            penalty = {"overall_quality": 1, "noise": 2, "lesion_conspicuity": 1, "diagnostic_confidence": 0}
            low = case.item.arm == "low-dose"
            scores = {scale: min(5, max(1, 4 + rng.choice((0, 0, 1, -1)) - (penalty[scale] if low and rng.random() < 0.8 else 0)))
                      for scale in penalty}
            assignment_case_score(actor=assignment.reader, case=case, scores=scores)
    return session


@register_demo_seeder("reading", order=30)
def seed_reading(actor: User, scale: float, write: Callable[[str], None]) -> None:
    if ScoreSheet.objects.exists() or ReadingSession.objects.exists():
        write("Demo reads already present: none added.")
        return
    uploader = User.objects.filter(memberships__hospital__isnull=True, memberships__role="data_manager").first()
    first_reader = User.objects.filter(username=READERS[0]).first()
    if uploader is None or first_reader is None or not Hospital.objects.filter(code=LEAD).exists():
        write("Demo logins or the lead hospital are missing: demo reads skipped.")
        return
    started = time.perf_counter()
    rng = random.Random(SEED)
    with transaction.atomic(), tempfile.TemporaryDirectory(prefix="nbnm-demo-reading-") as folder:
        readers = [first_reader, _second_reader(actor)]
        tmp = Path(folder)
        sheets = _seed_scores(uploader, uploader, readers, rng, max(3, round(SCORED_PATIENTS * scale)), tmp)
        session = _seed_session(uploader, uploader, readers, rng, max(3, round(SESSION_PATIENTS * scale)), tmp)
    write(f"Demo reads: {sheets} score sheets (Curie, SIOPEN, consensus) and the reading session "
          f"'{session.name}' with {session.items.count()} series, in {time.perf_counter() - started:.1f} s "
          f"(readers {', '.join(READERS)}).")


@register_demo_seeder("reading-comparison", order=35)
def seed_reading_comparison(actor: User, scale: float, write: Callable[[str], None]) -> None:  # noqa: ARG001
    """The headline planar vs SPECT/CT comparison over consented demo patients (imaging.reading.headline)."""
    # The programme-wide data manager records the comparison (the seeding superuser holds no hospital role).
    data_manager = User.objects.filter(memberships__hospital__isnull=True, memberships__role="data_manager").first()
    # Consented, data use not withdrawn: the report would drop the others and the headline figures would shift.
    patients = [p for p in _candidates(Q()) if p.data_use_withdrawn_on is None][:20]
    if data_manager is None or not patients:
        write("Demo data manager or consented patients missing: reading comparison skipped.")
        return
    with transaction.atomic():
        seed_headline_comparison(actor=data_manager, patients=patients)
    write(f"Demo reading comparison: 81 lesions over {len(patients)} patients.")
