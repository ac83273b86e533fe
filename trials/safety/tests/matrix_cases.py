"""Safety endpoints in the site-isolation matrix (see tests/matrix.py).

The world: trial T with sites at hospitals A and B (sponsor, trial_monitor and central_reader hold their roles
in T) and trial T2 with a site at A only (no trial roles). Serious events: ae_a (T, A), ae_b (T, B),
ae_other (T2, A), each with a lapsed 24-hour clock, and ae_susar (T, A), reported in time and assessed by the
sponsor as a SUSAR whose 7-day clock has lapsed.
"""
from datetime import timedelta
from typing import Any

from django.utils import timezone

from registry.access import HospitalRole
from registry.tests.factories import MembershipFactory, UserFactory
from tests.matrix import AUTHENTICATED, Case, World, statuses
from trials.safety.services.assessment import adverse_event_sponsor_assess
from trials.safety.services.clocks import reporting_clock_record_report
from trials.safety.services.events import adverse_event_report
from trials.safety.tests.helpers import grant, make_subject, make_trial

ANEMIA = "10002272"


def _serious(actor: Any, subject: Any, aware_days_ago: int, **data: Any) -> Any:
    now = timezone.now()
    fields = {"meddra_code": ANEMIA, "onset_date": timezone.localdate() - timedelta(days=aware_days_ago + 1), "grade": 3,
              "serious_hospitalisation": True, "site_awareness_at": now - timedelta(days=aware_days_ago),
              "relatedness": "probable", "expectedness": "unexpected", "action_taken": "not_applicable",
              "outcome": "recovering"}
    fields.update(data)
    return adverse_event_report(actor=actor, subject=subject, data=fields)


def arrange(world: World) -> None:
    a = world.actors
    trial, other_trial = make_trial("MX-T"), make_trial("MX-T2")
    grant(a.sponsor, trial, "sponsor")
    grant(a.trial_monitor, trial, "monitor")
    grant(a.central_reader, trial, "central_reader")
    investigator_b = UserFactory(username="investigator_b")
    MembershipFactory(user=investigator_b, hospital=a.hospital_b, role=HospitalRole.INVESTIGATOR)
    world.rows["investigator_b"] = investigator_b
    subject_a = make_subject(a.coordinator_a, a.hospital_a, trial)
    subject_b = make_subject(a.coordinator_b, a.hospital_b, trial)
    subject_other = make_subject(a.coordinator_a, a.hospital_a, other_trial)
    world.rows.update(subject_a=subject_a, subject_b=subject_b, subject_other=subject_other)
    for key, actor, subject in (("a", a.coordinator_a, subject_a), ("b", a.coordinator_b, subject_b),
                                ("other", a.coordinator_a, subject_other)):
        event = _serious(actor, subject, 3)
        world.rows[f"ae_{key}"], world.rows[f"clock_{key}"] = event, event.clocks.get()
    susar = _serious(a.coordinator_a, subject_a, 20, grade=4, serious_life_threatening=True)
    reporting_clock_record_report(actor=a.coordinator_a, clock=susar.clocks.get(),
                                  reported_at=susar.site_awareness_at + timedelta(hours=2))
    susar = adverse_event_sponsor_assess(actor=a.sponsor, event=susar, expectedness="unexpected", causality="possible")
    world.rows["ae_susar"], world.rows["clock_susar"] = susar, susar.clocks.get(kind="susar_7d")


SEE_A = {"coordinator_a", "investigator_a", "monitor_a", "data_manager"}
TRIAL_READERS = {"sponsor", "trial_monitor"}
HIDDEN_A = {"coordinator_b", "nobody", "central_reader"}
SITE_A_WRITERS = {"coordinator_a", "investigator_a", "data_manager"}
EVENTS = ("ae_a", "ae_b", "ae_other")
CLOCKS = ("clock_a", "clock_b", "clock_other")
VISIBLE_EVENTS = {"coordinator_a": {"a", "other"}, "investigator_a": {"a", "other"}, "monitor_a": {"a", "other"},
                  "coordinator_b": {"b"}, "data_manager": {"a", "b", "other"}, "nobody": set(), "sponsor": {"a", "b"},
                  "trial_monitor": {"a", "b"}, "central_reader": set()}


def visible(prefix: str) -> dict[str, set[str]]:
    return {actor: {f"{prefix}{k}" for k in keys} for actor, keys in VISIBLE_EVENTS.items()}


def _report(world: World, actor: str) -> dict[str, Any]:
    return {"subject": world["subject_a"].pk, "meddra_code": "10028813", "onset_date": timezone.localdate().isoformat(),
            "grade": 1, "relatedness": "unlikely", "expectedness": "expected", "action_taken": "not_applicable",
            "outcome": "recovering"}


ae_arg = lambda w: [w["ae_a"].pk]  # noqa: E731

CASES = [
    Case("ctcae term search", "ctcae-term-list", statuses(ok=AUTHENTICATED)),
    Case("ctcae term", "ctcae-term-detail", statuses(ok=AUTHENTICATED), args=lambda w: [ANEMIA]),
    Case("adverse event list", "adverse-event-list", statuses(ok=AUTHENTICATED), universe=EVENTS, visible=visible("ae_")),
    Case("adverse event detail", "adverse-event-detail", statuses(ok=SEE_A | TRIAL_READERS, hidden=HIDDEN_A), args=ae_arg),
    Case("adverse event versions", "adverse-event-versions", statuses(ok=SEE_A | TRIAL_READERS, hidden=HIDDEN_A),
         args=ae_arg),
    Case("adverse event report", "adverse-event-list",
         statuses(ok=SITE_A_WRITERS, ok_status=201, invalid={"coordinator_b"},
                  forbidden={"monitor_a", "nobody", "sponsor", "trial_monitor", "central_reader"}),
         method="post", data=_report),
    Case("adverse event follow-up", "adverse-event-follow-up",
         statuses(ok=SITE_A_WRITERS, hidden=HIDDEN_A, forbidden={"monitor_a", *TRIAL_READERS}),
         method="post", args=ae_arg, data=lambda w, actor: {"grade": 4, "serious_life_threatening": True}),
    Case("adverse event sponsor assessment", "adverse-event-sponsor-assessment",
         statuses(ok={"sponsor"}, hidden=HIDDEN_A, forbidden={*SEE_A, "trial_monitor"}),
         method="post", args=ae_arg, data=lambda w, actor: {"expectedness": "unexpected", "causality": "probable"}),
    Case("reporting clock list", "reporting-clock-list", statuses(ok=AUTHENTICATED), universe=CLOCKS,
         visible=visible("clock_")),
    Case("reporting clock detail", "reporting-clock-detail", statuses(ok=SEE_A | TRIAL_READERS, hidden=HIDDEN_A),
         args=lambda w: [w["clock_a"].pk]),
    Case("site clock report", "reporting-clock-report",
         statuses(ok=SITE_A_WRITERS, hidden=HIDDEN_A, forbidden={"monitor_a", *TRIAL_READERS}),
         method="post", args=lambda w: [w["clock_a"].pk], data=lambda w, actor: {}),
    Case("SUSAR clock report", "reporting-clock-report",
         statuses(ok={"sponsor"}, hidden=HIDDEN_A, forbidden={*SEE_A, "trial_monitor"}),
         method="post", args=lambda w: [w["clock_susar"].pk], data=lambda w, actor: {}),
    Case("reporting clock worklist", "reporting-clock-worklist", statuses(ok=AUTHENTICATED),
         universe=(*CLOCKS, "clock_susar"),
         visible={"coordinator_a": {"clock_a", "clock_other"}, "investigator_a": {"clock_a", "clock_other"},
                  "monitor_a": set(), "coordinator_b": {"clock_b"}, "data_manager": set(), "nobody": set(),
                  "sponsor": {"clock_susar"}, "trial_monitor": set(), "central_reader": set()}),
]
