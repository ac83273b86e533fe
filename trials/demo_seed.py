"""Demo trials on the demo cohort: a completed Phase III of 18F-NaF, a recruiting randomised Phase III of
68Ga-DOTATATE (low vs standard activity) across several sites, and a Phase I/II of 123I-MIBG with fixed
activity cohorts. Screening (with screen failures), trial consents, subjects, visits and dosing (a few above the
threshold, so protocol deviations) are written through the services, as a site would enter them.

Runs after the registry cohort and before imaging; the safety seeder adds AEs, SAEs and signatures on top.
Deterministic (seeded choices, dates from the demo's "today"), idempotent (skips when the first trial exists).
"""
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from nucmed import dosage
from nucmed.decay import decay_factor
from nucmed.radiopharmaceuticals import BY_CODE
from registry.access import HospitalRole, TrialRole
from registry.dates import age_years
from registry.demo.cohort import DEMO_TODAY
from registry.demo.hooks import register_demo_seeder
from registry.demo.people import demo_password_hash
from registry.models import ConsentDocument, ConsentRecord, Hospital, HospitalMembership, Patient, User
from registry.services.consent import consent_document_create, consent_record_create
from trials.models import EligibilityCriterion, ProtocolDeviation, Subject, SubjectVisit, Trial, TrialSite
from trials.services import setup
from trials.services.dosing import dosing_record_create
from trials.services.enrolment import subject_enrol, subject_status_change
from trials.services.screening import screening_record_create
from trials.services.visits import subject_visit_record

SEED = 20261128
SPONSOR_LOGIN = "sponsor_rp"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Spec:
    code: str
    title_zh: str
    title_en: str
    phase: str
    agent: str
    table: str
    sites: tuple[tuple[str, date | None], ...]  # hospital code, activation date (None: not yet activated)
    arms: tuple[tuple[str, str, str, int], ...]  # code, name zh, name en, activity %
    visits: tuple[tuple[str, str, str, str, int, int], ...]  # code, zh, en, anchor, day, window +/-
    protocol_from: date
    enrol_from: date
    enrol_to: date
    subjects: int
    target: int
    randomised: bool = False
    # Patients at high or intermediate INRG risk only (the DOTATATE trial); others fail screening on I2.
    high_risk_only: bool = False


NAF = Spec(
    "NBNM-NAF-301", "18F-NaF PET/CT与骨显像诊断神经母细胞瘤骨转移的III期研究",
    "Phase III study of 18F-NaF PET/CT versus bone scintigraphy for skeletal metastases of neuroblastoma",
    "III", "F18_NAF", "north_america", (("BJYY", date(2022, 10, 1)), ("BJET", date(2022, 11, 1)), ("SHET", date(2022, 12, 1))),
    (("NAF", "18F-NaF PET/CT", "18F-NaF PET/CT", 100),),
    (("BL", "基线", "Baseline", "enrolment", 0, 0), ("PET", "NaF PET/CT", "NaF PET/CT", "dosing", 0, 0),
     ("D1", "24小时安全随访", "24-hour safety call", "dosing", 1, 1), ("M6", "6个月随访", "6-month follow-up", "enrolment", 180, 14)),
    date(2022, 9, 1), date(2023, 1, 9), date(2024, 6, 28), 14, 14,
)
DOTA = Spec(
    "NBNM-DOTA-302", "低剂量与标准剂量68Ga-DOTATATE PET/CT在高危神经母细胞瘤中的随机III期研究",
    "Randomised Phase III trial of low-activity versus standard-activity 68Ga-DOTATATE PET/CT in high-risk neuroblastoma",
    "III", "GA68_DOTATATE", "eanm",
    (("BJYY", date(2026, 2, 1)), ("SHET", date(2026, 2, 15)), ("GZFE", date(2026, 3, 1)), ("HXEY", date(2026, 4, 1)), ("WHET", None)),
    (("LOW", "低剂量(50%)", "Low activity (50 % of the EANM card)", 50), ("STD", "标准剂量", "Standard activity (EANM card)", 100)),
    (("BL", "基线", "Baseline", "enrolment", 0, 0), ("PET", "DOTATATE PET/CT", "DOTATATE PET/CT", "dosing", 0, 0),
     ("D7", "第7天安全随访", "Day-7 safety visit", "dosing", 7, 2), ("M3", "3个月评估", "3-month assessment", "enrolment", 90, 14)),
    date(2026, 1, 15), date(2026, 2, 16), date(2026, 11, 20), 18, 120, randomised=True, high_risk_only=True,
)
MIBG = Spec(
    "NBNM-MIBG-101", "减低剂量123I-MIBG SPECT/CT的I/II期剂量探索研究",
    "Phase I/II activity-finding study of reduced-activity 123I-MIBG SPECT/CT", "I/II", "I123_MIBG", "eanm",
    (("BJYY", date(2026, 4, 1)), ("BJET", date(2026, 4, 20))),
    (("C1", "队列1(50%)", "Cohort 1: 50 % activity", 50), ("C2", "队列2(75%)", "Cohort 2: 75 % activity", 75),
     ("C3", "队列3(100%)", "Cohort 3: 100 % activity", 100)),
    (("BL", "基线", "Baseline", "enrolment", 0, 0), ("SPECT", "24小时SPECT/CT", "24-hour SPECT/CT", "dosing", 1, 0),
     ("W4", "4周随访", "4-week follow-up", "dosing", 28, 7)),
    date(2026, 3, 20), date(2026, 5, 6), date(2026, 11, 18), 9, 18,
)
CRITERIA = (
    ("inclusion", 1, "组织学确诊的神经母细胞瘤", "Histologically confirmed neuroblastoma"),
    ("inclusion", 2, "INRG高危或中危", "INRG high or intermediate risk"),
    ("inclusion", 3, "年龄1至17岁", "Aged 1 to 17 years"),
    ("exclusion", 1, "既往30天内接受过同类放射性药物检查", "Same radiopharmaceutical within the previous 30 days"),
    ("exclusion", 2, "肾功能不全(eGFR < 60)", "Renal impairment (eGFR below 60)"),
)


def weight_for_age(years: float) -> float:
    """A rough median weight-for-age (kg), for believable activities; not a growth standard."""
    return round(3.5 + 6.5 * min(years, 1) + 2.3 * max(min(years, 12) - 1, 0) + 5.0 * max(years - 12, 0), 1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


class Seeder:
    def __init__(self, actor: User, scale: float, write: Callable[[str], None]) -> None:
        self.dm, self.scale, self.write = actor, scale, write
        self.rng = random.Random(SEED)
        self.used: set[int] = set()
        self.counts = {"screened": 0, "failures": 0, "subjects": 0, "doses": 0, "subjects_in_trial": 0}

    # --- set-up ---------------------------------------------------------------------------------------------------
    def trial(self, spec: Spec) -> Trial:
        extra: dict[str, Any] = {"randomised": True, "stratify_by": ["site", "inrg_risk"], "block_sizes": [2, 4]} if spec.randomised else {}
        trial = setup.trial_create(actor=self.dm, code=spec.code, title_zh=spec.title_zh, title_en=spec.title_en, phase=spec.phase,
                                   agent_code=spec.agent, sponsor_organisation="NBNM Radiopharmaceutical Programme",
                                   target_accrual=spec.target, dosage_table=spec.table, **extra)
        version = setup.protocol_version_create(
            actor=self.dm, trial=trial, number="1.0", version_date=spec.protocol_from - timedelta(days=60),
            ethics_approval_number=f"EC-{spec.code}-01", ethics_approval_date=spec.protocol_from - timedelta(days=20),
            effective_from=spec.protocol_from)
        for kind, number, zh, en in CRITERIA:
            if kind == "inclusion" and number == 2 and not spec.high_risk_only:
                en, zh = "Measurable or evaluable disease", "可测量或可评估病灶"
            setup.criterion_create(actor=self.dm, protocol_version=version, kind=kind, number=number, text_zh=zh, text_en=en)
        for code, zh, en, anchor, day, window in spec.visits:
            setup.visit_definition_create(actor=self.dm, protocol_version=version, code=code, name_zh=zh, name_en=en, anchor=anchor,
                                          day_offset=day, window_before_days=window, window_after_days=window)
        for code, zh, en, percent in spec.arms:
            setup.arm_create(actor=self.dm, trial=trial, code=code, name_zh=zh, name_en=en, activity_percent=percent)
        for number, (hospital_code, activated) in enumerate(spec.sites, start=1):
            pi = (HospitalMembership.objects.filter(hospital__code=hospital_code, role=HospitalRole.INVESTIGATOR)
                  .select_related("user").order_by("user__username").first())
            setup.trial_site_create(actor=self.dm, trial=trial, hospital=Hospital.objects.get(code=hospital_code),
                                    site_number=f"{number:02d}", activated_on=activated,
                                    principal_investigator=pi.user if pi else None,
                                    target_accrual=spec.target // max(1, len(spec.sites)))
        consent_document_create(actor=self.dm, scope="trial", trial_id=trial.pk, version="1.0", title=f"{spec.code} 知情同意书",
                                ethics_approval_number=f"EC-{spec.code}-ICF", ethics_approval_date=spec.protocol_from,
                                effective_from=spec.protocol_from)
        setup.trial_transition(actor=self.dm, trial=trial, to=Trial.Status.RECRUITING, reason="ethics approval and site initiation")
        return Trial.objects.get(pk=trial.pk)

    # --- patients -------------------------------------------------------------------------------------------------
    def candidates(self, spec: Spec, site: TrialSite) -> list[Patient]:
        """Demo-cohort patients of the site's hospital, diagnosed in the enrolment period, followed and under 17."""
        latest = min(spec.enrol_to, DEMO_TODAY)
        rows = (Patient.objects.filter(hospital_id=site.hospital_id, diagnosis_date__gte=max(spec.enrol_from, site.activated_on)
                                       - timedelta(days=20), diagnosis_date__lte=latest - timedelta(days=30))
                .filter(Q(death_date__isnull=True) | Q(death_date__gt=latest + timedelta(days=200)))
                .filter(contact_withdrawn_on__isnull=True, birth_date__gt=latest.replace(year=latest.year - 16),
                        birth_date__lt=spec.enrol_from.replace(year=spec.enrol_from.year - 1))
                .exclude(pk__in=self.used).order_by("study_id"))
        return list(rows[:40])

    def answers(self, trial: Trial, patient: Patient, on: date, spec: Spec, *, renal: bool) -> dict[int, bool]:
        met = {"I1": True, "I2": patient.inrg_risk in ("high", "intermediate") if spec.high_risk_only else True,
               "I3": 1 <= age_years(patient.birth_date, on) <= 17, "E1": False, "E2": renal}
        return {c.pk: met[c.label] for c in EligibilityCriterion.objects.filter(protocol_version__trial=trial)}

    def consent(self, trial: Trial, patient: Patient, on: date) -> None:
        document = ConsentDocument.objects.get(scope="trial", trial_id=trial.pk)
        assent = "given" if age_years(patient.birth_date, on) >= document.assent_age_years else "not_applicable"
        consent_record_create(actor=self.dm, patient=patient, document=document, assent=assent, signed_date=on,
                              guardian1_relationship=self.rng.choice(["mother", "father"]), witnessed_by="Research nurse",
                              today=DEMO_TODAY)

    # --- one subject ----------------------------------------------------------------------------------------------
    def dose(self, subject: Subject, spec: Spec, day: date, *, over: bool) -> None:
        age = age_years(subject.patient.birth_date, day) + 0.5
        weight = Decimal(str(weight_for_age(age)))
        recommended = dosage.recommended_activity(agent_code=spec.agent, weight_kg=float(weight), table=spec.table).activity_mbq or 100.0
        share = (subject.arm.activity_percent if subject.arm_id else 100) / 100
        net = recommended * share * (self.rng.uniform(1.14, 1.30) if over else self.rng.uniform(0.88, 1.06))
        injected = at(day, 9 + self.rng.randint(0, 4), self.rng.choice([0, 15, 30, 45]))
        calibrated = injected - timedelta(minutes=self.rng.randint(15, 40))
        residual_at = injected + timedelta(minutes=5)
        half_life = BY_CODE[spec.agent].half_life_s
        residual = net * self.rng.uniform(0.02, 0.05)
        syringe = (net + residual * decay_factor(-300, half_life)) / decay_factor((injected - calibrated).total_seconds(), half_life)
        dosing_record_create(actor=self.dm, subject=subject, lot_number=f"{spec.agent[:4]}-{day:%y%m%d}-{self.rng.randint(1, 9)}",
                             calibrated_activity_mbq=Decimal(f"{syringe:.1f}"), calibrated_at=calibrated,
                             administered_activity_mbq=Decimal(f"{net:.1f}"), administered_at=injected,
                             residual_activity_mbq=Decimal(f"{residual:.2f}"), residual_measured_at=residual_at, weight_kg=weight)
        self.counts["doses"] += 1

    def visits(self, subject: Subject) -> None:
        """Record the visits that are due by the demo's today: most in their window, a few late, a few missed."""
        for visit in SubjectVisit.objects.filter(subject=subject).select_related("definition").order_by("target_date"):
            if visit.target_date is None or visit.target_date > DEMO_TODAY - timedelta(days=2):
                continue
            roll = self.rng.random()
            if roll < 0.05:
                subject_visit_record(actor=self.dm, visit=visit, status="missed", today=DEMO_TODAY)
                continue
            shift = self.rng.randint(visit.definition.window_after_days + 1, visit.definition.window_after_days + 6) if roll > 0.92 else \
                self.rng.randint(-visit.definition.window_before_days, visit.definition.window_after_days)
            done = min(visit.target_date + timedelta(days=shift), DEMO_TODAY)
            done = max(done, timezone.localdate(subject.enrolled_at))
            # The service keeps the reason only when the date is outside the window (about one visit in twelve here).
            subject_visit_record(actor=self.dm, visit=visit, status="done", done_on=done, today=DEMO_TODAY,
                                 out_of_window_reason="The family could not come within the window.")

    def enrol_site(self, trial: Trial, spec: Spec, site: TrialSite, wanted: int, failures: int) -> list[Subject]:
        days = (min(spec.enrol_to, DEMO_TODAY) - max(spec.enrol_from, site.activated_on)).days
        subjects: list[Subject] = []
        for patient in self.candidates(spec, site):
            if len(subjects) >= wanted and failures <= 0:
                break
            # Once the site's subjects are in, the remaining screenings shown are failures (renal function).
            renal = len(subjects) >= wanted or self.rng.random() < 0.05
            enrol_on = max(spec.enrol_from, site.activated_on) + timedelta(days=self.rng.randint(0, max(days, 0)))
            screened_on = enrol_on - timedelta(days=self.rng.randint(1, 5))
            if screened_on < patient.diagnosis_date or age_years(patient.birth_date, enrol_on) >= 18:
                continue
            self.used.add(patient.pk)
            self.consent(trial, patient, screened_on - timedelta(days=1))
            record = screening_record_create(actor=self.dm, trial=trial, site=site, patient=patient, screened_on=screened_on,
                                             answers=self.answers(trial, patient, screened_on, spec, renal=renal), today=DEMO_TODAY,
                                             notes="")
            self.counts["screened"] += 1
            if record.outcome != "eligible":
                self.counts["failures"] += 1
                failures -= 1
                continue
            arm = None
            if not spec.randomised and len(spec.arms) > 1:  # cohorts fill in order, three subjects each
                arm = trial.arms.order_by("code")[min(self.counts["subjects_in_trial"] // 3, len(spec.arms) - 1)]
            subject = subject_enrol(actor=self.dm, trial=trial, site=site, patient=patient, arm=arm,
                                    enrolled_at=at(enrol_on, 8, 30), today=enrol_on)
            self.counts["subjects"] += 1
            self.counts["subjects_in_trial"] += 1
            dosing_day = enrol_on + timedelta(days=self.rng.randint(0, 3))
            if dosing_day <= DEMO_TODAY - timedelta(days=1):
                over = self.rng.random() < 0.12
                self.dose(subject, spec, dosing_day, over=over)
            self.visits(subject)
            subjects.append(subject)
        return subjects

    def run(self, spec: Spec) -> Trial:
        trial = self.trial(spec)
        self.counts["subjects_in_trial"] = 0
        active = [s for s in trial.sites.order_by("site_number") if s.activated_on is not None]
        total = max(len(active), round(spec.subjects * self.scale))
        for i, site in enumerate(active):
            wanted = total // len(active) + (1 if i < total % len(active) else 0)
            self.enrol_site(trial, spec, site, wanted, failures=1 if i < 2 else 0)
        return trial


def _sponsor(actor: User) -> User:
    user, created = User.objects.get_or_create(username=SPONSOR_LOGIN, defaults={"first_name": "Sponsor", "last_name": "RP"})
    if created:
        user.password = demo_password_hash()
        user.save(update_fields=["password"])
    return user


@register_demo_seeder("trials", order=10)
def seed_trials(actor: User, scale: float, write: Callable[[str], None]) -> None:
    if Trial.objects.filter(code=NAF.code).exists():
        write("Demo trials already present: no trials added.")
        return
    dm = User.objects.filter(memberships__hospital__isnull=True, memberships__role=HospitalRole.DATA_MANAGER).order_by("username").first()
    if dm is None or not Patient.objects.exists():
        write("No all-hospitals data manager or no demo cohort: demo trials skipped.")
        return
    seeder = Seeder(dm, scale, write)
    with transaction.atomic():
        naf, dota, mibg = seeder.run(NAF), seeder.run(DOTA), seeder.run(MIBG)
        # The NaF study finished: accrual closed, every subject completed, the trial completed.
        setup.trial_transition(actor=dm, trial=naf, to=Trial.Status.CLOSED_TO_ACCRUAL, reason="target accrual reached")
        for subject in naf.subjects.all():
            subject_status_change(actor=dm, subject=subject, to=Subject.Status.COMPLETED, reason="6-month follow-up done")
        setup.trial_transition(actor=dm, trial=naf, to=Trial.Status.COMPLETED, reason="database lock and final analysis")
        sponsor = _sponsor(actor)
        monitor = User.objects.filter(username="monitor").first()
        for trial in (naf, dota, mibg):
            setup.trial_membership_grant(actor=dm, user=sponsor, trial=trial, role=TrialRole.SPONSOR, reason="demo seed")
            if monitor is not None:
                setup.trial_membership_grant(actor=dm, user=monitor, trial=trial, role=TrialRole.MONITOR, reason="demo seed")
    c = seeder.counts
    write(f"Demo trials: {NAF.code} (completed), {DOTA.code} (recruiting, randomised), {MIBG.code} (recruiting, cohorts): "
          f"{c['screened']} screened ({c['failures']} screen failures), {c['subjects']} subjects, {c['doses']} doses "
          f"({ProtocolDeviation.objects.count()} protocol deviations), "
          f"{ConsentRecord.objects.filter(document__scope='trial').count()} trial consents; "
          f"sponsor login {SPONSOR_LOGIN} (password as the other demo logins).")
