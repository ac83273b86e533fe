"""The demo cohort: a believable, deterministic registry of children with neuroblastoma (fictional data).

Two halves, so the clinical picture can be tested without a database:

- `generate_cohort(n, seed, hospital_codes, today)` is pure: the same arguments always give the same
  patients (one `random.Random(seed)` stream, drawn in a fixed order). Each `DemoPatient` holds the
  clinical coding, the natural history as the registry would know it (relapse and death only when they
  happened before follow-up stopped), consent facts and a fake identity.
- `insert_cohort(...)` writes them: expected visits from `build_schedule()` with the default plan,
  filled by `plan_followup()` (again deterministic, from each patient's own seed), bulk inserts in one
  transaction, study-ID counters moved past the last number used, one audit event per table, then the
  daily status sweep so the worklist has content.

Clinical rules follow the references in registry/codelists.py (INRGSS, INRG risk after Cohn 2009, a
simplified COG scheme). The survival model is a demo model, tuned so the registry "looks right": high
risk 5-year OS about 40-45%, intermediate about 85-90%, low and very low above 95%.
"""
from __future__ import annotations

import calendar
import math
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as clock
from operator import attrgetter
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from registry import identity_crypto
from registry.audit import audit_record
from registry.dates import adult_on, age_years, months_between
from registry.models import (
    AuditEvent,
    ConsentDocument,
    ConsentRecord,
    ConsentScope,
    ConsentWithdrawal,
    FollowUpPlan,
    FollowUpVisit,
    Hospital,
    Patient,
    PatientIdentity,
    StudyIdCounter,
    User,
)
from registry.services.consent import consent_document_create
from registry.services.followup import followup_mark_statuses, schedule_offsets

DEFAULT_PATIENTS = 4500
DEFAULT_SEED = 20261128
DEMO_TODAY = date(2026, 11, 28)  # "today" of the demo: follow-up is censored here
DIAGNOSIS_FROM = date(2014, 1, 1)
DIAGNOSIS_TO = date(2026, 10, 31)
REGISTRY_OPENED = date(2014, 1, 1)  # consent v1.0 takes effect with the first diagnoses
RECONSENT_FROM = date(2025, 7, 1)  # consent v2.0 (requires re-consent) takes effect
INSS_UNTIL = date(2018, 1, 1)  # older records also carry INSS
LEAD_SHARE = 0.27
SEED_ACTION = "seed_batch"
SEED_NOTE = "demo seed: bulk insert, one event per table"
GRACE_DAYS = 60  # visits whose window closed within this many days may still be waiting for data entry

V = FollowUpVisit.Status


# --- The generated data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Fake identifiers; only ever written encrypted (never printed or logged)."""

    name: str
    record_number: str
    national_id: str
    guardian1_name: str
    guardian1_phone: str
    guardian2_name: str
    guardian2_phone: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Withdrawal:
    on: date
    scope: str
    reason: str


@dataclass(frozen=True)
class DemoPatient:
    index: int  # position in generation order
    hospital_code: str
    number: int  # study-ID sequence within the hospital (1-based, in diagnosis order)
    sex: str
    birth_date: date
    birth_date_precision: str
    diagnosis_date: date
    age_at_diagnosis_months: int
    primary_site: str
    inrgss_stage: str
    inss_stage: str
    l2_extent: str  # "resectable" / "unresectable" for L2 (drives INSS 2A/2B vs 3 and COG), else ""
    inrg_risk: str
    cog_risk: str
    mycn: str
    aberration_11q: str
    ploidy: str
    histology: str
    # What the registry knows: relapse/progression and death only if before follow-up stopped.
    relapse_date: date | None
    death_date: date | None
    death_cause: str
    lost_on: date | None  # stopped attending follow-up from this date
    end_date: date  # death date, else min(today, lost to follow-up, withdrawal): the censoring date
    consent_date: date
    guardian1_relationship: str
    guardian2_relationship: str
    wants_reconsent: bool  # signs the re-consent version at the first visit after it takes effect
    withdrawal: Withdrawal | None
    identity: Identity
    visit_seed: int

    @property
    def study_id(self) -> str:
        return study_id_for(self.hospital_code, self.number)


def study_id_for(hospital_code: str, number: int) -> str:
    # Same format as registry.services.patients.next_study_id.
    return f"{hospital_code}-{number:05d}"


# --- Clinical rules -------------------------------------------------------------------------------


def inss_for(stage: str, l2_extent: str, age_months: int, rng: random.Random) -> str:
    if stage == "L1":
        return "1"
    if stage == "L2":
        return rng.choice(("2A", "2B")) if l2_extent == "resectable" else "3"
    if stage == "M":
        return "4"
    return "4S" if age_months < 12 else "4"  # INSS 4S is for infants under one year; INRGSS MS extends to 18 months


def inrg_risk_for(*, stage: str, age_months: int, mycn: str, aberration_11q: str, ploidy: str, histology: str) -> str:
    """INRG pre-treatment risk group (Cohn 2009), MYCN unknown treated as not amplified."""
    amplified = mycn == "amplified"
    if stage in ("L1", "L2") and histology in ("ganglioneuroma", "gnb_intermixed"):
        return "very_low"
    if stage == "L1":
        return "high" if amplified else "very_low"
    if stage == "L2":
        if amplified:
            return "high"
        if age_months >= 18 and histology == "unfavourable":  # poorly differentiated/undifferentiated
            return "intermediate"
        return "intermediate" if aberration_11q == "yes" else "low"
    if stage == "M":
        if amplified or age_months >= 18:
            return "high"
        return "low" if ploidy == "hyperdiploid" else "intermediate"
    # MS (under 18 months)
    if amplified or aberration_11q == "yes":
        return "high"
    return "very_low"


def cog_risk_for(*, stage: str, l2_extent: str, age_months: int, mycn: str, ploidy: str, histology: str) -> str:
    """COG risk group, simplified (INSS 1 low; amplified beyond stage 1 high; stage 4 from 18 months high)."""
    amplified = mycn == "amplified"
    favourable = histology in ("favourable", "gnb_intermixed", "ganglioneuroma") and ploidy != "diploid"
    if stage == "L1":
        return "low"
    if amplified:
        return "high"
    if stage == "L2":
        if l2_extent == "resectable":
            return "low"
        return "high" if age_months >= 18 and histology == "unfavourable" else "intermediate"
    if stage == "MS" and age_months < 12:
        return "low" if favourable else "intermediate"
    # M, and MS from 12 months (INSS stage 4)
    if age_months >= 18:
        return "high"
    if age_months < 12:
        return "intermediate"
    return "intermediate" if favourable else "high"


@dataclass(frozen=True)
class Hazards:
    early_death: float  # death without relapse (toxicity, infection) in the first ~18 months
    event: float  # relapse or progression, ever
    event_scale_years: float  # Weibull scale / shape of the time to the event
    event_shape: float
    death_after_event: float
    death_scale_years: float  # Weibull scale of the time from event to death


# Demo model tuned to published ranges (high risk 5-year OS ~40-45%, intermediate ~85-90%, low/very low >95%).
HAZARDS = {
    "high": Hazards(0.04, 0.64, 1.3, 1.4, 0.90, 0.9),
    "intermediate": Hazards(0.01, 0.22, 1.8, 1.2, 0.60, 1.5),
    "low": Hazards(0.003, 0.08, 2.0, 1.1, 0.30, 2.0),
    "very_low": Hazards(0.002, 0.04, 2.5, 1.0, 0.20, 2.0),
}
LOSS_PER_YEAR = 0.025  # lost to follow-up
WITHDRAWAL_SHARE = 0.015
RECONSENT_SHARE = 0.42  # of those followed past the re-consent date: ~30% of alive, followed patients sign

# --- Fake identities ------------------------------------------------------------------------------

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
SURNAME_WEIGHTS = tuple(1 / (rank + 4) for rank in range(len(SURNAMES)))
BOY_CHARS = "浩宇轩子梓睿泽俊博文明晨一铭宸奕昊然涵阳天乐皓杰鑫磊航嘉辰瑞安煜逸凯翔峻霖诚恒"
GIRL_CHARS = "欣怡涵梓萱雨诗琪悦彤桐可馨佳思若一诺依语婉雅静妍琳梦晴瑶璐蕊乐安"
WOMAN_CHARS = "丽芳娜敏静燕艳娟霞玲红梅莉婷雪慧晶洁琳颖华秀英兰萍"
MAN_CHARS = "伟强军磊勇杰涛斌超明刚平辉鹏华飞鑫波宁峰建海亮林东国志"
RECORD_PREFIXES = ("", "ZY", "", "B", "", "MZ", "")
WITHDRAWAL_REASONS = {
    ConsentWithdrawal.Scope.NO_FURTHER_CONTACT: (
        "Family asked not to be contacted again.", "Family moved abroad and declined further follow-up.",
        "Guardian no longer wishes to take part in follow-up calls.",
    ),
    ConsentWithdrawal.Scope.WITHDRAW_DATA_USE: (
        "Guardian withdrew permission for research use of the data.",
        "Family withdrew from the registry, including future use of stored data and images.",
    ),
}
MISSED_REASONS = ("Family could not be reached.", "Followed at a local hospital; no report received.",
                  "Family did not attend; rescheduling failed.", "Family travelled during the visit window.")
LOST_REASON = "Lost to follow-up: family could not be reached."
RELAPSE_SITES = ("bone marrow", "bone", "primary site", "lymph nodes", "bone and bone marrow", "central nervous system",
                 "liver", "lung")


def _given(rng: random.Random, chars: str) -> str:
    return "".join(rng.choice(chars) for _ in range(1 if rng.random() < 0.3 else 2))


def _person(rng: random.Random, chars: str, surname: str | None = None) -> str:
    surname = surname or rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
    return surname + "".join(rng.choice(chars) for _ in range(2 if rng.random() < 0.6 else 1))


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"


# --- Generation -----------------------------------------------------------------------------------


def _days(rng: random.Random, lo: int, hi: int) -> timedelta:
    return timedelta(days=rng.randint(lo, hi))


def _years(value: float) -> timedelta:
    return timedelta(days=max(1, round(value * 365.25)))


def _pick(rng: random.Random, table: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _draw_biology(rng: random.Random, age: int, dx: date) -> dict[str, str]:
    infant = age < 18
    stage = _pick(rng, (("L1", 0.22), ("L2", 0.24), ("M", 0.38), ("MS", 0.16)) if infant else
                  (("L1", 0.18), ("L2", 0.20), ("M", 0.62)))
    if stage == "MS" and not infant:
        stage = "M"  # MS is defined only under 18 months
    l2_extent = ("resectable" if rng.random() < 0.4 else "unresectable") if stage == "L2" else ""
    p_amp = {"L1": 0.04, "L2": 0.12, "M": 0.25 if infant else 0.34, "MS": 0.10}[stage]
    r = rng.random()
    mycn = "unknown" if r < 0.02 else "amplified" if r < 0.02 + p_amp else "not_amplified"
    amp = mycn == "amplified"
    old = dx < date(2016, 1, 1)  # older records: more biology unknown

    if amp:
        histology = _pick(rng, (("unfavourable", 0.90), ("favourable", 0.04), ("gnb_nodular", 0.04), ("unknown", 0.02)))
    elif stage in ("L1", "L2"):
        p_fav = 0.85 if infant else 0.50
        histology = _pick(rng, (("ganglioneuroma", 0.01 if age >= 36 else 0.0), ("gnb_intermixed", 0.06),
                                ("gnb_nodular", 0.04), ("unknown", 0.02),
                                ("favourable", 0.87 * p_fav), ("unfavourable", 0.87 * (1 - p_fav))))
    elif stage == "MS":
        histology = _pick(rng, (("favourable", 0.85), ("unfavourable", 0.12), ("unknown", 0.03)))
    else:  # M, not amplified
        p_fav = 0.60 if infant else 0.20
        histology = _pick(rng, (("gnb_nodular", 0.03), ("unknown", 0.02),
                                ("favourable", 0.95 * p_fav), ("unfavourable", 0.95 * (1 - p_fav))))

    p_unknown = 0.12 if old else 0.04
    if rng.random() < p_unknown:
        ploidy = "unknown"
    else:
        p_hyper = 0.15 if amp else 0.70 if infant else 0.45
        ploidy = "hyperdiploid" if rng.random() < p_hyper else "diploid"
    if rng.random() < p_unknown + 0.03:
        q11 = "unknown"
    else:
        p_11q = 0.08 if amp else {"L1": 0.08, "L2": 0.15, "M": 0.12 if infant else 0.40, "MS": 0.05}[stage]
        q11 = "yes" if rng.random() < p_11q else "no"

    site_table = {
        "L1": (("adrenal", 0.35), ("abdomen_non_adrenal", 0.20), ("thorax", 0.30), ("pelvis", 0.06), ("neck", 0.07),
               ("other", 0.02)),
        "L2": (("adrenal", 0.45), ("abdomen_non_adrenal", 0.25), ("thorax", 0.20), ("pelvis", 0.05), ("neck", 0.04),
               ("other", 0.01)),
        "M": (("adrenal", 0.62), ("abdomen_non_adrenal", 0.25), ("thorax", 0.06), ("pelvis", 0.02), ("other", 0.02),
              ("unknown", 0.03)),
        "MS": (("adrenal", 0.80), ("abdomen_non_adrenal", 0.10), ("thorax", 0.04), ("unknown", 0.06)),
    }
    primary_site = _pick(rng, site_table[stage])
    return {"inrgss_stage": stage, "l2_extent": l2_extent, "mycn": mycn, "histology": histology, "ploidy": ploidy,
            "aberration_11q": q11, "primary_site": primary_site}


def _draw_patient(rng: random.Random, index: int, hospital_code: str, today: date, dx_to: date,
                  used_records: set[str]) -> DemoPatient:
    while True:  # redraw children who died or were lost before consent could be recorded
        dx = DIAGNOSIS_FROM + timedelta(days=rng.randrange((dx_to - DIAGNOSIS_FROM).days + 1))
        age_m = min(180.0, rng.lognormvariate(math.log(18), 1.05))
        birth = dx - timedelta(days=round(age_m * 30.4375))
        precision = Patient.BirthDatePrecision.DAY
        if rng.random() < 0.03:
            birth, precision = birth.replace(day=1), Patient.BirthDatePrecision.MONTH
        age = months_between(birth, dx)
        sex = "M" if rng.random() < 0.55 else "F"
        bio = _draw_biology(rng, age, dx)
        stage, extent = bio["inrgss_stage"], bio["l2_extent"]
        inss = inss_for(stage, extent, age, rng) if dx < INSS_UNTIL else ""
        inrg = inrg_risk_for(stage=stage, age_months=age, mycn=bio["mycn"], aberration_11q=bio["aberration_11q"],
                             ploidy=bio["ploidy"], histology=bio["histology"])
        cog = cog_risk_for(stage=stage, l2_extent=extent, age_months=age, mycn=bio["mycn"], ploidy=bio["ploidy"],
                           histology=bio["histology"])

        consent = dx + _days(rng, 0, 14)

        # Natural history (true dates, before anything is censored).
        h = HAZARDS[inrg]
        relapse = death = None
        cause = ""
        if rng.random() < h.early_death:
            death = dx + _years(rng.uniform(0.1, 1.5))
            cause = rng.choice(("Treatment-related toxicity", "Infection during treatment"))
        elif rng.random() < h.event:
            relapse = dx + _years(rng.weibullvariate(h.event_scale_years, h.event_shape))
            if rng.random() < h.death_after_event:
                death = relapse + _years(rng.weibullvariate(h.death_scale_years, 1.2))
                cause = "Progressive disease" if rng.random() < 0.9 else "Complications of relapse treatment"
        lost = consent + _years(rng.expovariate(LOSS_PER_YEAR))
        lost_on = lost if lost < today else None
        if (death and death <= consent) or (lost_on and lost_on <= consent):
            continue
        break

    withdrawal = None
    stop = min(d for d in (today, death, lost_on) if d)
    if rng.random() < WITHDRAWAL_SHARE and (stop - consent).days > 90:
        on = consent + timedelta(days=rng.randint(60, (stop - consent).days - 1))
        scope = (ConsentWithdrawal.Scope.NO_FURTHER_CONTACT if rng.random() < 0.55
                 else ConsentWithdrawal.Scope.WITHDRAW_DATA_USE)
        withdrawal = Withdrawal(on, str(scope), rng.choice(WITHDRAWAL_REASONS[scope]))
    end = min(d for d in (today, lost_on, withdrawal.on if withdrawal else None) if d)
    known_death = death if death and death <= end else None
    known_relapse = relapse if relapse and relapse <= (known_death or end) else None
    if known_death:
        end = known_death

    # Consent and identity.
    g1 = _pick(rng, (("mother", 0.60), ("father", 0.32), ("grandparent", 0.05), ("legal_guardian", 0.03)))
    g2 = ""
    if g1 in ("mother", "father") and rng.random() < 0.35:
        g2 = "father" if g1 == "mother" else "mother"
    family = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
    child = family + _given(rng, BOY_CHARS if sex == "M" else GIRL_CHARS)

    def guardian(relationship: str) -> str:
        if relationship == "father":
            return _person(rng, MAN_CHARS, family)
        if relationship == "grandparent":
            return _person(rng, WOMAN_CHARS + MAN_CHARS, family)
        return _person(rng, WOMAN_CHARS if relationship == "mother" else WOMAN_CHARS + MAN_CHARS)

    prefix = RECORD_PREFIXES[sum(map(ord, hospital_code)) % len(RECORD_PREFIXES)]
    while True:
        record = f"{prefix}{rng.randrange(10**7, 10**8)}"
        if record not in used_records:
            used_records.add(record)
            break
    identity = Identity(name=child, record_number=record, national_id="", guardian1_name=guardian(g1),
                        guardian1_phone=_phone(rng), guardian2_name=guardian(g2) if g2 else "",
                        guardian2_phone=_phone(rng) if g2 else "")
    return DemoPatient(
        index=index, hospital_code=hospital_code, number=0, sex=sex, birth_date=birth, birth_date_precision=str(precision),
        diagnosis_date=dx, age_at_diagnosis_months=age, primary_site=bio["primary_site"], inrgss_stage=stage,
        inss_stage=inss, l2_extent=extent, inrg_risk=inrg, cog_risk=cog, mycn=bio["mycn"],
        aberration_11q=bio["aberration_11q"], ploidy=bio["ploidy"], histology=bio["histology"],
        relapse_date=known_relapse, death_date=known_death, death_cause=cause if known_death else "", lost_on=lost_on,
        end_date=end, consent_date=consent, guardian1_relationship=g1, guardian2_relationship=g2,
        wants_reconsent=rng.random() < RECONSENT_SHARE, withdrawal=withdrawal, identity=identity,
        visit_seed=rng.getrandbits(64),
    )


def generate_cohort(n: int, seed: int, hospital_codes: Sequence[str], today: date = DEMO_TODAY) -> list[DemoPatient]:
    """`n` fictional patients, deterministic in (n, seed, hospital_codes, today). The first code is the lead hospital.

    Returned in study-ID order: by hospital, numbered 1.. in order of diagnosis.
    """
    if not hospital_codes:
        raise ValueError("generate_cohort needs at least one hospital")
    rng = random.Random(seed)
    lead, partners = hospital_codes[0], list(hospital_codes[1:])
    partner_weights = [rng.lognormvariate(0, 0.4) for _ in partners]
    total = sum(partner_weights) or 1.0
    weights = [LEAD_SHARE if partners else 1.0] + [(1 - LEAD_SHARE) * w / total for w in partner_weights]
    dx_to = min(DIAGNOSIS_TO, today - timedelta(days=28))
    used: dict[str, set[str]] = defaultdict(set)
    drawn = []
    for i in range(n):
        code = rng.choices([lead, *partners], weights=weights)[0]
        drawn.append(_draw_patient(rng, i, code, today, dx_to, used[code]))
    numbers: Counter[str] = Counter()
    cohort = []
    for p in sorted(drawn, key=lambda p: (p.diagnosis_date, p.index)):
        numbers[p.hospital_code] += 1
        cohort.append(replace(p, number=numbers[p.hospital_code]))
    cohort.sort(key=lambda p: (p.hospital_code, p.number))
    return cohort


# --- Follow-up ------------------------------------------------------------------------------------


@dataclass
class FollowUp:
    visits: list[Any]  # FollowUpVisit, or _Visit in the seed
    last_contact_date: date | None
    death_date: date | None
    reconsent_date: date | None


class _Visit:
    """An expected visit while the seed fills it: the FollowUpVisit fields plan_followup sets, with the model's defaults.

    85,500 of them are made for the default cohort; as model instances (Model.__init__, then bulk_create's per-field
    preparation and SQL compilation) they were most of the cohort's time. They are written as tuples (_visit_rows)."""

    __slots__ = ("number", "target_date", "window_start", "window_end", "status", "visit_date", "vital_status",
                 "disease_status", "event_date", "event_site", "treatment_phase", "last_contact_date", "death_date",
                 "death_cause", "missed_reason", "recorded_by", "recorded_at")

    def __init__(self, number: int, target_date: date | None = None, window_start: date | None = None,
                 window_end: date | None = None) -> None:
        self.number, self.target_date, self.window_start, self.window_end = number, target_date, window_start, window_end
        self.status: str = V.SCHEDULED
        self.visit_date: date | None = None
        self.vital_status = self.disease_status = self.event_site = self.treatment_phase = ""
        self.death_cause = self.missed_reason = ""
        self.event_date: date | None = None
        self.last_contact_date: date | None = None
        self.death_date: date | None = None
        self.recorded_by: User | None = None
        self.recorded_at: datetime | None = None


def _add_months(start: date, months: int) -> date:
    """registry.dates.add_months (relativedelta: the same day so many months on, or the month's last day) without
    relativedelta's object per call: 85,500 calls in the default seed."""
    years, month0 = divmod(start.month - 1 + months, 12)
    year, month = start.year + years, month0 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def _schedule(diagnosis_date: date, offsets: Sequence[int], window: timedelta) -> list[_Visit]:
    """registry.services.followup.build_schedule's visits (months after the diagnosis, windows in days) as _Visit."""
    visits = []
    for number, months in enumerate(offsets, start=1):
        target = _add_months(diagnosis_date, months)
        visits.append(_Visit(number, target, target - window, target + window))
    return visits


def _status_before_event(rng: random.Random, risk: str, months: float) -> tuple[str, str]:
    """(disease status, treatment phase) at a visit `months` after diagnosis, before any relapse."""
    if risk == "high":
        if months <= 6:
            return _pick(rng, (("PR", 0.50), ("MR", 0.15), ("SD", 0.15), ("CR", 0.20))), "induction"
        if months <= 9:
            return _pick(rng, (("CR", 0.45), ("PR", 0.45), ("SD", 0.10))), "consolidation"
        if months <= 18:
            return _pick(rng, (("CR", 0.65), ("PR", 0.30), ("SD", 0.05))), "maintenance"
        return _pick(rng, (("CR", 0.55), ("NED", 0.40), ("PR", 0.05))), "off therapy"
    if risk == "intermediate":
        if months <= 6:
            return _pick(rng, (("PR", 0.50), ("CR", 0.30), ("SD", 0.20))), "chemotherapy"
        if months <= 12:
            return _pick(rng, (("CR", 0.60), ("PR", 0.30), ("SD", 0.10))), "off therapy"
        return _pick(rng, (("NED", 0.60), ("CR", 0.40))), "off therapy"
    if months <= 12:
        return _pick(rng, (("NED", 0.50), ("CR", 0.30), ("SD", 0.20))), "observation"
    return _pick(rng, (("NED", 0.80), ("CR", 0.15), ("SD", 0.05))), "observation"


def _recorded_at(rng: random.Random, visit_date: date, today: date) -> datetime:
    day = min(visit_date + _days(rng, 0, 7), max(visit_date, today - timedelta(days=1)))
    return datetime.combine(day, clock(rng.randint(8, 17), rng.randrange(60)), tzinfo=timezone.get_default_timezone())


def plan_followup(p: DemoPatient, schedule: Sequence[Any], *, today: date, recorded_by: User | None,
                  reconsent_from: date | None = RECONSENT_FROM) -> FollowUp:
    """Fill the expected visits of `p` (from build_schedule) as the sites would have: done, missed, cancelled, open.

    Deterministic (the patient's own seed). Visits before death/last contact are mostly done, near their
    target date; the death is recorded at the next visit (an unscheduled one after the schedule ends);
    later visits are cancelled, as are visits from a withdrawal of contact; recent ones may still be
    open and future ones stay scheduled. Nobody is recorded alive on or after their death date.
    """
    rng = random.Random(p.visit_seed)
    withdrawn_on = p.withdrawal.on if p.withdrawal else None
    death, relapse = p.death_date, p.relapse_date
    visits = list(schedule)
    relapse_recorded = died_recorded = False
    last_contact = reconsent = None
    open_recent = today - timedelta(days=GRACE_DAYS)

    def record(v: FollowUpVisit, visit_date: date) -> None:
        nonlocal relapse_recorded, last_contact
        v.status, v.visit_date = V.DONE, visit_date
        v.recorded_by, v.recorded_at = recorded_by, _recorded_at(rng, visit_date, today)
        months = (visit_date - p.diagnosis_date).days / 30.4375
        if relapse and not relapse_recorded and visit_date >= relapse:
            v.disease_status = "PD" if (relapse - p.diagnosis_date).days < 270 else "relapse"
            v.event_date, v.event_site = relapse, rng.choice(RELAPSE_SITES)
            v.treatment_phase = "relapse therapy"
            relapse_recorded = True
        elif relapse_recorded:
            v.disease_status = _pick(rng, (("PD", 0.30), ("SD", 0.30), ("PR", 0.25), ("CR", 0.15)))
            v.treatment_phase = _pick(rng, (("relapse therapy", 0.7), ("palliative care", 0.3)))
        else:
            v.disease_status, v.treatment_phase = _status_before_event(rng, p.inrg_risk, months)
        last_contact = max(last_contact, visit_date) if last_contact else visit_date

    def record_death(v: FollowUpVisit) -> None:
        nonlocal died_recorded
        assert death is not None
        record(v, min(today, death + _days(rng, 1, 30)))
        if not v.event_date:  # the relapse, if any, was recorded at an earlier visit
            v.disease_status = "PD" if relapse else "not_assessed"
        v.vital_status, v.death_date, v.death_cause = FollowUpVisit.VitalStatus.DEAD, death, p.death_cause
        v.treatment_phase = ""
        died_recorded = True

    for v in visits:
        assert v.target_date and v.window_start and v.window_end
        if died_recorded or (withdrawn_on and v.target_date >= withdrawn_on):
            v.status = V.CANCELLED
            continue
        if death and v.window_end >= death:
            record_death(v)
            continue
        when = v.target_date + timedelta(days=max(-14, min(14, round(rng.gauss(0, 5)))))
        when = max(v.window_start, min(when, v.window_end))
        if withdrawn_on and when >= withdrawn_on:
            when = withdrawn_on - timedelta(days=1)
        if when > today:
            continue  # future: stays scheduled
        if p.lost_on and when >= p.lost_on:
            if v.window_end < open_recent:
                v.status, v.missed_reason = V.MISSED, LOST_REASON
            continue  # recent: left open, the sweep makes it overdue
        if v.window_end >= open_recent and not withdrawn_on and rng.random() < 0.3:
            continue  # not entered yet: due or overdue on the worklist
        missed = 0.05 if v.number <= 8 else 0.10
        if rng.random() < missed:
            v.status, v.missed_reason = V.MISSED, rng.choice(MISSED_REASONS)
            continue
        record(v, when)
        v.vital_status = FollowUpVisit.VitalStatus.ALIVE
        if reconsent is None and p.wants_reconsent and not p.withdrawal and reconsent_from \
                and when >= reconsent_from and p.consent_date < reconsent_from:
            reconsent = when
    if death and not died_recorded:  # after the last expected visit: an unscheduled visit records it
        extra: Any = (FollowUpVisit(patient=visits[0].patient, number=len(visits) + 1)
                      if visits and isinstance(visits[0], FollowUpVisit) else _Visit(len(visits) + 1))
        record_death(extra)
        visits.append(extra)
    if died_recorded:  # recording a death cancels every visit still open (as the service does)
        for v in visits:
            if v.status in FollowUpVisit.OPEN_STATUSES:
                v.status = V.CANCELLED
    return FollowUp(visits, last_contact, death if died_recorded else None, reconsent)


# --- Writing --------------------------------------------------------------------------------------

CONSENT_DOCUMENTS = (
    {"version": "1.0", "title": "神经母细胞瘤多中心登记研究 知情同意书（监护人）", "ethics_approval_number": "BJYY-EC-2013-112",
     "ethics_approval_date": date(2013, 11, 20), "effective_from": REGISTRY_OPENED, "effective_to": date(2025, 6, 30),
     "requires_reconsent": False},
    {"version": "2.0", "title": "神经母细胞瘤多中心登记研究 知情同意书（监护人）第2版：影像数据二次使用",
     "ethics_approval_number": "BJYY-EC-2025-067", "ethics_approval_date": date(2025, 6, 3),
     "effective_from": RECONSENT_FROM, "effective_to": None, "requires_reconsent": True},
)


def seed_consent_documents(*, actor: User) -> tuple[list[ConsentDocument], int]:
    """Registry consent v1.0 (2015) and v2.0 (2025, re-consent required), created through the service if missing."""
    created = 0
    documents = []
    for spec in CONSENT_DOCUMENTS:
        doc = ConsentDocument.objects.filter(scope=ConsentScope.REGISTRY, trial_id=None, version=spec["version"],
                                             language="zh-hans").first()
        if doc is None:
            doc = consent_document_create(actor=actor, scope=ConsentScope.REGISTRY, language="zh-hans", **spec)
            created += 1
        documents.append(doc)
    return documents, created


def existing_seed() -> AuditEvent | None:
    """The batch event of an earlier cohort seed, if there was one (the seed is idempotent on it)."""
    return AuditEvent.objects.filter(action=SEED_ACTION, object_type=Patient._meta.label_lower).order_by("seq").first()


def _in_force(documents: Sequence[ConsentDocument], on: date) -> ConsentDocument:
    valid = [d for d in documents if d.effective_from <= on and (d.effective_to is None or d.effective_to >= on)]
    if valid:
        return max(valid, key=lambda d: d.effective_from)
    return min(documents, key=lambda d: d.effective_from)


@dataclass
class SeedResult:
    seed: int
    counts: dict[str, int]
    sweep: dict[str, int]
    reconsented: int
    seconds: float
    patients: list[Patient] = field(repr=False, default_factory=list)
    cohort: list[DemoPatient] = field(repr=False, default_factory=list)


def insert_cohort(cohort: Sequence[DemoPatient], *, actor: User, hospitals: Sequence[Hospital], seed: int,
                  today: date = DEMO_TODAY, plan: FollowUpPlan | None = None,
                  documents: Sequence[ConsentDocument] | None = None) -> SeedResult:
    """Write the cohort with bulk inserts in one transaction; one audit event per table; then the daily sweep."""
    started = time.perf_counter()
    by_code = {h.code: h for h in hospitals}
    with transaction.atomic():
        plan = plan or FollowUpPlan.objects.get(is_default=True)
        documents = list(documents or ConsentDocument.objects.filter(scope=ConsentScope.REGISTRY, trial_id=None))
        if not documents:
            raise ValueError("insert_cohort needs a registry consent document")
        reconsent_doc = max((d for d in documents if d.requires_reconsent), key=lambda d: d.effective_from, default=None)
        # Lock the counters (as next_study_id does) and continue after any number already issued.
        offsets = {}
        for code in sorted({p.hospital_code for p in cohort}):
            counter, _ = StudyIdCounter.objects.select_for_update().get_or_create(hospital=by_code[code])
            offsets[code] = counter.last_number
        taken = set(Patient.objects.filter(hospital__in=list(by_code.values()))
                    .values_list("hospital_id", "record_number_hash"))

        patients, identities, records, withdrawals = [], [], [], []
        visits: list[tuple[Patient, _Visit]] = []
        reconsented = 0
        offsets_months, window = schedule_offsets(plan), timedelta(days=plan.window_days)
        for p in cohort:
            hospital = by_code[p.hospital_code]
            ident = p.identity.as_dict()
            record_hash = identity_crypto.record_number_hash(hospital.code, ident["record_number"])
            while (hospital.pk, record_hash) in taken:  # a real registration already holds this number
                ident["record_number"] += "A"
                record_hash = identity_crypto.record_number_hash(hospital.code, ident["record_number"])
            taken.add((hospital.pk, record_hash))
            patient = Patient(
                study_id=study_id_for(p.hospital_code, offsets[p.hospital_code] + p.number), hospital=hospital,
                sex=p.sex, birth_date=p.birth_date, birth_date_precision=p.birth_date_precision,
                diagnosis_date=p.diagnosis_date, age_at_diagnosis_months=p.age_at_diagnosis_months,
                primary_site=p.primary_site, inrgss_stage=p.inrgss_stage, inss_stage=p.inss_stage, inrg_risk=p.inrg_risk,
                cog_risk=p.cog_risk, mycn=p.mycn, aberration_11q=p.aberration_11q, ploidy=p.ploidy,
                histology=p.histology, record_number_hash=record_hash,
                contact_withdrawn_on=p.withdrawal.on if p.withdrawal else None,
                data_use_withdrawn_on=p.withdrawal.on if p.withdrawal
                and p.withdrawal.scope == ConsentWithdrawal.Scope.WITHDRAW_DATA_USE else None,
            )
            fu = plan_followup(p, _schedule(p.diagnosis_date, offsets_months, window), today=today, recorded_by=actor,
                               reconsent_from=reconsent_doc.effective_from if reconsent_doc else None)
            patient.death_date, patient.last_contact_date = fu.death_date, fu.last_contact_date
            patients.append(patient)
            visits.extend((patient, v) for v in fu.visits)
            identities.append(PatientIdentity(patient=patient, ciphertext=identity_crypto.encrypt(ident)))

            first = _in_force(documents, p.consent_date)
            signed = max(p.consent_date, first.effective_from)
            latest = _consent(patient, first, signed, p.guardian1_relationship, p.guardian2_relationship, actor)
            records.append(latest)
            if fu.reconsent_date and reconsent_doc and first.pk != reconsent_doc.pk \
                    and fu.reconsent_date >= reconsent_doc.effective_from:
                adult = fu.reconsent_date >= adult_on(p.birth_date)
                latest = _consent(patient, reconsent_doc, fu.reconsent_date, p.guardian1_relationship,
                                  p.guardian2_relationship, actor, adult=adult)
                records.append(latest)
                reconsented += 1
            if p.withdrawal:
                withdrawals.append(ConsentWithdrawal(consent=latest, withdrawn_on=p.withdrawal.on,
                                                     scope=p.withdrawal.scope, reason=p.withdrawal.reason,
                                                     recorded_by=actor))

        Patient.objects.bulk_create(patients, batch_size=1000)
        PatientIdentity.objects.bulk_create(identities, batch_size=1000)
        ConsentRecord.objects.bulk_create(records, batch_size=1000)
        ConsentWithdrawal.objects.bulk_create(withdrawals, batch_size=1000)
        _insert_visits(visits)
        used = Counter(p.hospital_code for p in cohort)
        for code, count in used.items():
            StudyIdCounter.objects.filter(hospital=by_code[code]).update(last_number=offsets[code] + count)

        counts = {}
        for model, rows in ((Patient, patients), (PatientIdentity, identities), (ConsentRecord, records),
                            (ConsentWithdrawal, withdrawals), (FollowUpVisit, visits)):
            counts[model._meta.label_lower] = len(rows)
            audit_record(actor=actor, action=SEED_ACTION, object_type=model._meta.label_lower, object_id=f"seed:{seed}",
                         after={"rows": len(rows), "seed": seed, "note": SEED_NOTE})
        sweep = followup_mark_statuses(today=today)
    return SeedResult(seed, counts, sweep, reconsented, time.perf_counter() - started, patients, list(cohort))


def _insert_visits(visits: Sequence[tuple[Patient, _Visit]]) -> None:
    """One executemany of plain tuples: the rows bulk_create(FollowUpVisit) wrote, without a model object or a compiled
    INSERT per row. Dates and times go through the backend's own adapters, as the fields would send them."""
    fields = [f for f in FollowUpVisit._meta.concrete_fields if f.attname not in ("id", "patient_id", "recorded_by_id")]
    names = [f.attname for f in fields]
    columns = ", ".join(connection.ops.quote_name(c) for c in ["patient_id", "recorded_by_id", *(f.column for f in fields)])
    sql = (f"INSERT INTO {connection.ops.quote_name(FollowUpVisit._meta.db_table)} ({columns}) "
           f"VALUES ({', '.join(['%s'] * (len(fields) + 2))})")
    # Per column, how its value is sent (worked out once, not per row): the backend's adapters for dates and times,
    # the plain value of a TextChoices member.
    adapt: list[tuple[int, Any]] = []
    for i, f in enumerate(fields):
        kind = f.get_internal_type()
        if kind == "DateField":
            adapt.append((i, connection.ops.adapt_datefield_value))
        elif kind == "DateTimeField":
            adapt.append((i, connection.ops.adapt_datetimefield_value))
        elif f.choices:
            adapt.append((i, str))
    get = attrgetter(*names)

    def row(patient: Patient, v: _Visit) -> tuple[Any, ...]:
        values = list(get(v))
        for i, fn in adapt:
            if values[i] is not None:
                values[i] = fn(values[i])
        return (patient.pk, v.recorded_by.pk if v.recorded_by is not None else None, *values)

    with connection.cursor() as cursor:
        cursor.executemany(sql, [row(patient, v) for patient, v in visits])

def _consent(patient: Patient, document: ConsentDocument, signed: date, g1: str, g2: str, actor: User, *,
             adult: bool = False) -> ConsentRecord:
    if adult:  # a participant who has reached 18 signs for themself
        return ConsentRecord(patient=patient, document=document, signer=ConsentRecord.Signer.PARTICIPANT,
                             assent=ConsentRecord.Assent.NOT_APPLICABLE, signed_date=signed, recorded_by=actor)
    assent = (ConsentRecord.Assent.GIVEN if age_years(patient.birth_date, signed) >= document.assent_age_years
              else ConsentRecord.Assent.NOT_APPLICABLE)
    return ConsentRecord(patient=patient, document=document, signer=ConsentRecord.Signer.GUARDIAN,
                         guardian1_relationship=g1, guardian2_relationship=g2, assent=assent, signed_date=signed,
                         recorded_by=actor)


# --- Summary (aggregates only: never an identifier) ----------------------------------------------


def km_survival(rows: Iterable[tuple[float, bool]], at: float) -> float:
    """Kaplan-Meier S(at) from (time, event) pairs."""
    data = sorted(rows)
    at_risk, survival, i = len(data), 1.0, 0
    while i < len(data) and data[i][0] <= at:
        t, deaths, leaving = data[i][0], 0, 0
        while i < len(data) and data[i][0] == t:
            deaths += data[i][1]
            leaving += 1
            i += 1
        if at_risk:
            survival *= 1 - deaths / at_risk
        at_risk -= leaving
    return survival


def summarise(patients: Sequence[Patient], today: date = DEMO_TODAY) -> dict[str, Any]:
    """Distribution figures of inserted patients, survival from their death and last-contact dates."""
    n = len(patients) or 1
    share = lambda values: {k: round(100 * v / n, 1) for k, v in sorted(Counter(values).items())}  # noqa: E731
    os_5y = {}
    for risk in ("high", "intermediate", "low", "very_low"):
        rows = [(((p.death_date or p.last_contact_date or p.diagnosis_date) - p.diagnosis_date).days,
                 p.death_date is not None) for p in patients if p.inrg_risk == risk]
        os_5y[risk] = round(100 * km_survival(rows, 5 * 365.25), 1) if rows else None
    followed = [p for p in patients if p.death_date is None and p.contact_withdrawn_on is None]
    return {
        "median_age_months": statistics.median(p.age_at_diagnosis_months for p in patients) if patients else None,
        "male_pct": round(100 * sum(p.sex == "M" for p in patients) / n, 1),
        "stage_pct": share(p.inrgss_stage for p in patients),
        "mycn_amplified_pct": round(100 * sum(p.mycn == "amplified" for p in patients) / n, 1),
        "inrg_risk_pct": share(p.inrg_risk for p in patients),
        "hospital_top_pct": sorted(share(p.hospital.code for p in patients).items(), key=lambda kv: -kv[1])[:3],
        "deaths": sum(p.death_date is not None for p in patients),
        "followed_alive": len(followed),
        "os_5y_pct": os_5y,
    }
