"""Demo safety data on the demo trials' subjects: AEs and SAEs with clocks met, late, and open and running now,
SUSARs, signed investigator assessments (one voided by a follow-up) and data queries in each state.

Runs after the trials seeder. Deterministic (seeded choices, times from the subjects' enrolment, except the
live clocks, which are placed relative to now so the demo shows them running); idempotent (skips when any
adverse event exists); a few dozen service calls.
"""
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from registry.access import HospitalRole, TrialRole
from registry.demo.hooks import register_demo_seeder
from registry.demo.people import DEMO_PASSWORD
from registry.models import HospitalMembership, User
from trials.models import Subject, TrialMembership
from trials.oversight.models import Signature
from trials.oversight.services.queries import data_query_answer, data_query_close, data_query_raise
from trials.oversight.services.signatures import signature_sign
from trials.safety import ctcae
from trials.safety.models import AdverseEvent
from trials.safety.services.assessment import adverse_event_sponsor_assess
from trials.safety.services.clocks import reporting_clock_record_report, reporting_clocks_sweep
from trials.safety.services.events import adverse_event_follow_up, adverse_event_report

SEED = 20261128
# Terms common after radiopharmaceutical therapy and in paediatric oncology (names as in CTCAE v5.0).
MILD_TERMS = ["Nausea", "Vomiting", "Fatigue", "Fever", "Anemia", "Platelet count decreased", "Dry mouth",
              "Injection site reaction", "Headache", "Anorexia"]
SERIOUS_TERMS = ["Febrile neutropenia", "Platelet count decreased", "Neutrophil count decreased", "Anemia",
                 "Sepsis", "Hypertension"]
# (name, days from enrolment to site awareness or hours before now for live ones, site report delay in hours or
#  None for "not reported", sponsor assessment (expectedness, causality) or None, life-threatening)
HISTORICAL = [
    ("met", 20, 6, None, False),
    ("late", 35, 31, None, False),
    ("susar_15d_met", 12, 4, ("unexpected", "probable"), False),
    ("susar_7d_late", 28, 3, ("unexpected", "possible"), True),
    ("met_expected", 50, 10, ("expected", "probable"), False),
    ("late_unreported", 9, None, None, False),
]
LIVE = [
    ("open_running", 5, None, None, False),          # due in 19 h
    ("open_about_to_lapse", 20, None, None, False),  # due in 4 h: the sweep flags it
    ("susar_open", 72, 3, ("unexpected", "definite"), True),  # its 7-day clock runs
]


def _code(name: str) -> str:
    by_name = {t.term: t.meddra_code for t in ctcae.terms().values()}
    return by_name[name]


def _site_staff(hospital_id: int, role: str) -> User | None:
    membership = (HospitalMembership.objects.filter(hospital_id=hospital_id, role=role, user__is_active=True)
                  .select_related("user").order_by("user__username").first())
    return membership.user if membership else None


def _data_manager() -> User | None:
    membership = HospitalMembership.objects.filter(hospital__isnull=True, role=HospitalRole.DATA_MANAGER).order_by("user__username").first()
    return membership.user if membership else None


def _trial_user(trial_id: int, role: str) -> User | None:
    membership = TrialMembership.objects.filter(trial_id=trial_id, role=role).select_related("user").order_by("user__username").first()
    return membership.user if membership else None


def _report(actor: User, subject: Subject, term: str, grade: int, onset: date, aware: datetime | None, *,
            life_threatening: bool = False, rng: random.Random) -> AdverseEvent:
    data: dict[str, Any] = {
        "meddra_code": _code(term), "grade": grade, "relatedness": rng.choice(["possible", "probable", "unlikely"]),
        "expectedness": rng.choice(["expected", "unexpected"]), "action_taken": "not_applicable", "outcome": "recovering",
        "onset_date": max(onset, subject.consent.signed_date),
    }
    if aware is not None:
        data.update(serious_hospitalisation=True, site_awareness_at=aware, serious_life_threatening=life_threatening)
    return adverse_event_report(actor=actor, subject=subject, data=data)


def _sign(investigator: User | None, event: AdverseEvent) -> Signature | None:
    if investigator is None or not investigator.check_password(DEMO_PASSWORD):
        return None  # only the demo logins' passwords are known to the seed
    return signature_sign(actor=investigator, content_type=ContentType.objects.get_for_model(event), object_id=event.pk,
                          meaning=Signature.Meaning.ASSESSED, password=DEMO_PASSWORD)


@register_demo_seeder("safety", order=60)
def seed_safety(actor: User, scale: float, write: Callable[[str], None]) -> None:
    if AdverseEvent.objects.exists():
        write("Demo safety data already present: nothing added.")
        return
    subjects = list(Subject.objects.filter(patient__death_date__isnull=True)
                    .select_related("trial", "site", "patient", "consent").order_by("trial__code", "subject_number"))
    if not subjects:
        write("No trial subjects: demo adverse events skipped.")
        return
    rng = random.Random(SEED)
    now = timezone.now()
    counts = {"events": 0, "serious": 0, "signatures": 0, "queries": 0}
    with transaction.atomic():
        signed: list[AdverseEvent] = []
        # Non-serious events on about a third of the subjects, in the first weeks after enrolment.
        for subject in subjects[::3]:
            reporter = _site_staff(subject.site.hospital_id, HospitalRole.COORDINATOR) or _data_manager()
            if reporter is None:
                continue
            onset = min(timezone.localdate(subject.enrolled_at) + timedelta(days=rng.randint(1, 20)), timezone.localdate(now))
            event = _report(reporter, subject, rng.choice(MILD_TERMS), rng.choice([1, 1, 2]), onset, None, rng=rng)
            counts["events"] += 1
            if rng.random() < 0.5 and _sign(_site_staff(subject.site.hospital_id, HospitalRole.INVESTIGATOR), event):
                counts["signatures"] += 1
        # SAEs, the live ones first (so even a small demo shows running clocks): historical ones (clocks long over) on
        # subjects enrolled two weeks ago or more, live ones relative to now; spread over the subjects of staffed sites.
        staffed = [s for s in subjects if _site_staff(s.site.hospital_id, HospitalRole.COORDINATOR)]
        pools = {False: [s for s in staffed if s.enrolled_at <= now - timedelta(days=13)],
                 True: [s for s in staffed if s.enrolled_at <= now - timedelta(days=4) and s.trial.status == "recruiting"
                        and s.status == "enrolled"]}
        for pool in pools.values():
            rng.shuffle(pool)
        scenarios = [(s, True) for s in LIVE] + [(s, False) for s in HISTORICAL]
        for n, ((name, offset, delay, assessment, threatening), live) in enumerate(scenarios):
            pool = pools[live]
            if not pool:
                continue
            subject = pool[n % len(pool)]
            reporter = _site_staff(subject.site.hospital_id, HospitalRole.COORDINATOR)
            assert reporter is not None
            aware = (now - timedelta(hours=offset) if live
                     else min(subject.enrolled_at + timedelta(days=offset, hours=3), now - timedelta(days=12)))
            onset = timezone.localdate(aware) - timedelta(days=rng.randint(0, 1))
            event = _report(reporter, subject, rng.choice(SERIOUS_TERMS), 4 if threatening else 3, onset, aware,
                            life_threatening=threatening, rng=rng)
            counts["events"] += 1
            counts["serious"] += 1
            if delay is not None:
                reporting_clock_record_report(actor=reporter, clock=event.clocks.get(), reported_at=aware + timedelta(hours=delay))
            sponsor = _trial_user(subject.trial_id, TrialRole.SPONSOR)
            if assessment and sponsor is not None:
                event = adverse_event_sponsor_assess(actor=sponsor, event=event, expectedness=assessment[0],
                                                     causality=assessment[1])
                susar = event.clocks.exclude(kind="site_24h").first()
                if susar is not None and name == "susar_15d_met":
                    reporting_clock_record_report(actor=sponsor, clock=susar, reported_at=susar.started_at + timedelta(days=9))
                elif susar is not None and name == "susar_7d_late":
                    reporting_clock_record_report(actor=sponsor, clock=susar, reported_at=susar.due_at + timedelta(days=2))
            if _sign(_site_staff(subject.site.hospital_id, HospitalRole.INVESTIGATOR), event):
                counts["signatures"] += 1
                if not live:
                    signed.append(event)
        # One signed assessment voided by a follow-up (visible in the signature list with its reason).
        if signed:
            event = signed[0]
            reporter = _site_staff(event.subject.site.hospital_id, HospitalRole.COORDINATOR)
            adverse_event_follow_up(actor=reporter, event=event, data={"outcome": "recovered",
                                    "resolution_date": max(timezone.localdate(now - timedelta(days=1)),
                                                           event.current_version.onset_date)},
                                    reason="follow-up: resolved after transfusion")
        counts["queries"] = _seed_queries(rng)
        swept = reporting_clocks_sweep()
    write(f"Demo safety: {counts['events']} adverse events ({counts['serious']} serious), {counts['signatures']} "
          f"signatures, {counts['queries']} data queries; sweep flagged {swept['about_to_lapse']} clocks about to lapse "
          f"and {swept['lapsed']} lapsed")


def _seed_queries(rng: random.Random) -> int:
    """An open, an answered and a closed query, raised by a monitor of the event's hospital (or a data manager)."""
    events = list(AdverseEvent.objects.select_related("subject__site").order_by("id"))
    ae_type = ContentType.objects.get_for_model(AdverseEvent)
    texts = [("onset_date", "Onset date precedes the dosing date in the source: please confirm."),
             ("grade", "Grade 3 recorded, lab values suggest grade 2: please check."),
             ("relatedness", "Causality 'unlikely' but onset 2 h after administration: please review.")]
    made = 0
    for (field, text), event in zip(texts, rng.sample(events, min(3, len(events))), strict=False):
        hospital_id = event.subject.site.hospital_id
        monitor = _site_staff(hospital_id, HospitalRole.MONITOR) or _data_manager()
        site = _site_staff(hospital_id, HospitalRole.COORDINATOR)
        if monitor is None:
            continue
        query = data_query_raise(actor=monitor, content_type=ae_type, object_id=event.pk, field_name=field, text=text)
        made += 1
        if made >= 2 and site is not None:
            query = data_query_answer(actor=site, query=query, text="Checked against the source document; corrected.")
        if made == 3 and site is not None:
            data_query_close(actor=monitor, query=query, text="Resolved.")
    return made
