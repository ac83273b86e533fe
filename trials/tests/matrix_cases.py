"""Trials endpoints in the site-isolation matrix (see tests/matrix.py).

The world: trial T-A with its site at hospital A (randomised, blinded), in which the trial-only actors hold
their roles (sponsor, trial monitor, central reader), and trial T-B with its site at hospital B, in which they
hold none. Each trial has an enrolled subject with visits and a dose above the threshold (so a protocol
deviation); at hospital A one patient is ready to enrol and one failed screening (and may be screened again).
"""
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from registry.models import User
from registry.tests.builders import make_patient
from tests.matrix import AUTHENTICATED, Case, World, statuses
from trials.models import EligibilityCriterion, SubjectVisit
from trials.services.dosing import dosing_record_create
from trials.services.setup import trial_membership_grant
from trials.tests.builders import TODAY, answers, enrol, make_trial_consent, quick_trial, ready_patient, screen, site_of

TRIAL_ACTORS = ("sponsor", "trial_monitor", "central_reader")
PROTOCOL = b"%PDF-1.4 approved protocol"


def _side(world: World, side: str, coordinator: User, hospital, **trial_fields: Any) -> None:  # type: ignore[no-untyped-def]
    trial = quick_trial([hospital], code=f"T-{side.upper()}", agent_code="F18_NAF", dosage_table="north_america", **trial_fields)
    site = site_of(trial, hospital)
    world.rows[f"trial_{side}"], world.rows[f"site_{side}"] = trial, site
    world.rows[f"version_{side}"] = version = trial.protocol_versions.get()
    # Filed straight to storage, as quick_trial writes its rows: the document's download is a case of its own.
    version.document.save(f"Protocol {side}.pdf", ContentFile(PROTOCOL), save=True)
    world.rows[f"arm_{side}"] = trial.arms.order_by("code").first()
    world.rows[f"criterion_{side}"] = EligibilityCriterion.objects.filter(protocol_version__trial=trial).first()
    world.rows[f"definition_{side}"] = world.rows[f"version_{side}"].visit_definitions.first()
    subject = enrol(coordinator, trial, hospital)
    world.rows[f"subject_{side}"] = subject
    world.rows[f"screening_{side}"] = subject.screening
    world.rows[f"visit_{side}"] = SubjectVisit.objects.get(subject=subject, definition__code="SCR")
    now = timezone.now()
    world.rows[f"dose_{side}"] = dosing_record_create(
        actor=coordinator, subject=subject, lot_number="L1", calibrated_activity_mbq=Decimal("400"),
        calibrated_at=now - timedelta(minutes=10), administered_activity_mbq=Decimal("390"), administered_at=now,
        weight_kg=Decimal("20"))  # far above 44.4 MBq: one protocol deviation
    world.rows[f"deviation_{side}"] = world.rows[f"dose_{side}"].deviations.get()


def _candidates(world: World) -> None:
    """At hospital A: a patient screened eligible (to enrol) and one who failed screening (to screen again)."""
    coordinator, trial = world.actors.coordinator_a, world["trial_a"]
    world.rows["ready_a"] = ready_patient(coordinator, trial, world.actors.hospital_a)
    failed = make_patient(coordinator, world.actors.hospital_a)
    make_trial_consent(coordinator, failed, trial)
    world.rows["failed_a"] = failed
    screen(coordinator, trial, world["site_a"], failed, failing=("I1",))


def arrange(world: World) -> None:
    a = world.actors
    _side(world, "a", a.coordinator_a, a.hospital_a, randomised=True, blinded=True, arms=(("LOW", 50), ("STD", 100)))
    _side(world, "b", a.coordinator_b, a.hospital_b)
    _candidates(world)
    for actor, role in (("sponsor", "sponsor"), ("trial_monitor", "monitor"), ("central_reader", "central_reader")):
        world.rows[f"membership_{actor}"] = trial_membership_grant(actor=a.data_manager, user=getattr(a, actor),
                                                                   trial=world["trial_a"], role=role)


def _sides(**sides: str) -> dict[str, set[str]]:
    return {actor: set(which) for actor, which in sides.items()}


def _visible(prefix: str, *, trial_roles: tuple[str, ...] = TRIAL_ACTORS) -> dict[str, set[str]]:
    sides = {"coordinator_a": "a", "investigator_a": "a", "coordinator_b": "b", "monitor_a": "a", "data_manager": "ab",
             "nobody": "", **{actor: "a" for actor in trial_roles}}
    return {actor: {f"{prefix}{s}" for s in which} for actor, which in sides.items()}


SEE_A = {"coordinator_a", "investigator_a", "monitor_a", "data_manager"}
NOT_A = {"coordinator_b", "nobody"}
WRITERS_A = {"coordinator_a", "investigator_a", "data_manager"}
ALL_TRIAL = set(TRIAL_ACTORS)
OVERSIGHT = {"sponsor", "trial_monitor"}
pk = lambda key: (lambda w: [w[key].pk])  # noqa: E731


def _list(name: str, url_name: str, prefix: str, *, trial_roles: tuple[str, ...] = TRIAL_ACTORS) -> Case:
    return Case(name, url_name, statuses(ok=AUTHENTICATED), universe=(f"{prefix}a", f"{prefix}b"),
                visible=_visible(prefix, trial_roles=trial_roles))


def _detail(name: str, url_name: str, key: str, *, trial_roles: set[str] = ALL_TRIAL) -> Case:
    return Case(name, url_name, statuses(ok=SEE_A | trial_roles, hidden=NOT_A | (ALL_TRIAL - trial_roles)), args=pk(key))


def _screening(world: World, actor: str) -> dict[str, Any]:
    trial = world["trial_a"]
    return {"trial": trial.pk, "site": world["site_a"].pk, "patient": world["failed_a"].study_id,
            "screened_on": TODAY.isoformat(), "answers": [{"criterion": c, "met": m} for c, m in answers(trial).items()]}


def _enrol(world: World, actor: str) -> dict[str, Any]:
    return {"trial": world["trial_a"].pk, "site": world["site_a"].pk, "patient": world["ready_a"].study_id}


def _dose(world: World, actor: str) -> dict[str, Any]:
    now = timezone.now()
    return {"subject": world["subject_a"].pk, "lot_number": "L2", "calibrated_activity_mbq": "50",
            "calibrated_at": (now - timedelta(minutes=5)).isoformat(), "administered_activity_mbq": "48",
            "administered_at": now.isoformat(), "weight_kg": "20"}


CASES = [
    _list("trial list", "trial-list", "trial_"),
    _detail("trial detail", "trial-detail", "trial_a"),
    Case("trial transition", "trial-transition",
         statuses(ok={"data_manager"}, forbidden={"coordinator_a", "investigator_a", "monitor_a", *TRIAL_ACTORS}, hidden=NOT_A),
         method="post", args=pk("trial_a"), data=lambda w, a: {"status": "suspended", "reason": "safety review"}),
    _list("protocol version list", "protocol-version-list", "version_"),
    _detail("protocol version detail", "protocol-version-detail", "version_a"),
    # The protocol document: for whoever sees the version (audited download), 404 for everyone else.
    _detail("protocol version document", "protocol-version-document", "version_a"),
    _list("arm list", "arm-list", "arm_"),
    _detail("arm detail", "arm-detail", "arm_a"),
    _list("trial site list", "trial-site-list", "site_"),
    _detail("trial site detail", "trial-site-detail", "site_a"),
    Case("trial membership list", "trial-membership-list", statuses(ok=AUTHENTICATED),
         universe=tuple(f"membership_{a}" for a in TRIAL_ACTORS),
         visible={"coordinator_a": set(), "investigator_a": set(), "coordinator_b": set(), "monitor_a": set(), "nobody": set(),
                  "data_manager": {f"membership_{a}" for a in TRIAL_ACTORS}, **{a: {f"membership_{a}"} for a in TRIAL_ACTORS}}),
    Case("trial membership detail (own)", "trial-membership-detail",
         statuses(ok={"data_manager", "sponsor"}, hidden={"coordinator_a", "investigator_a", "monitor_a", *NOT_A,
                                                          "trial_monitor", "central_reader"}),
         args=pk("membership_sponsor")),
    _list("eligibility criterion list", "eligibility-criterion-list", "criterion_"),
    _detail("eligibility criterion detail", "eligibility-criterion-detail", "criterion_a"),
    _list("visit definition list", "visit-definition-list", "definition_"),
    _detail("visit definition detail", "visit-definition-detail", "definition_a"),
    _list("screening list", "screening-record-list", "screening_", trial_roles=("sponsor", "trial_monitor")),
    _detail("screening detail", "screening-record-detail", "screening_a", trial_roles=OVERSIGHT),
    Case("screening log", "screening-record-log", statuses(ok=AUTHENTICATED)),
    Case("screening create", "screening-record-list",
         statuses(ok=WRITERS_A, ok_status=201, forbidden={"monitor_a", "nobody", *TRIAL_ACTORS}, invalid={"coordinator_b"}),
         method="post", data=_screening),
    _list("subject list", "subject-list", "subject_"),
    _detail("subject detail", "subject-detail", "subject_a"),
    Case("subject enrol", "subject-enrol",
         statuses(ok=WRITERS_A, ok_status=201, forbidden={"monitor_a", "nobody", *TRIAL_ACTORS}, invalid={"coordinator_b"}),
         method="post", data=_enrol),
    Case("subject status change", "subject-change-status",
         statuses(ok=WRITERS_A, forbidden={"monitor_a", *TRIAL_ACTORS}, hidden=NOT_A), method="post", args=pk("subject_a"),
         data=lambda w, a: {"status": "withdrawn", "reason": "family moved abroad"}),
    Case("subject unblind", "subject-unblind",
         statuses(ok={"data_manager"}, forbidden={"coordinator_a", "investigator_a", "monitor_a", *TRIAL_ACTORS}, hidden=NOT_A),
         method="post", args=pk("subject_a"), data=lambda w, a: {"reason": "SAE management"}),
    _list("subject visit list", "subject-visit-list", "visit_"),
    _detail("subject visit detail", "subject-visit-detail", "visit_a"),
    Case("subject visit record", "subject-visit-record",
         statuses(ok=WRITERS_A, forbidden={"monitor_a", *TRIAL_ACTORS}, hidden=NOT_A), method="post", args=pk("visit_a"),
         data=lambda w, a: {"status": "done", "done_on": timezone.localdate().isoformat()}),
    _list("dosing list", "dosing-record-list", "dose_"),
    _detail("dosing detail", "dosing-record-detail", "dose_a"),
    Case("dosing create", "dosing-record-list",
         statuses(ok=WRITERS_A, ok_status=201, forbidden={"monitor_a", "nobody", *TRIAL_ACTORS}, invalid={"coordinator_b"}),
         method="post", data=_dose),
    Case("dosing correct", "dosing-record-detail",
         statuses(ok=WRITERS_A, forbidden={"monitor_a", *TRIAL_ACTORS}, hidden=NOT_A), method="patch", args=pk("dose_a"),
         data=lambda w, a: {"lot_number": "L1-corrected", "reason": "lot misread"}),
    _list("protocol deviation list", "protocol-deviation-list", "deviation_", trial_roles=("sponsor", "trial_monitor")),
    _detail("protocol deviation detail", "protocol-deviation-detail", "deviation_a", trial_roles=OVERSIGHT),
    Case("protocol deviation review", "protocol-deviation-review",
         statuses(ok={"investigator_a", "data_manager"}, forbidden={"coordinator_a", "monitor_a", *OVERSIGHT},
                  hidden=NOT_A | {"central_reader"}),
         method="post", args=pk("deviation_a"), data=lambda w, a: {"review_note": "reported to the sponsor"}),
]

