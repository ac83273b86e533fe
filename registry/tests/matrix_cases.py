"""Registry endpoints in the site-isolation matrix (see tests/matrix.py)."""
from typing import Any

from django.db import transaction

from registry.access import HospitalRole
from registry.audit import audit_record
from registry.models import HospitalMembership, Job
from registry.tests.factories import MembershipFactory
from tests.matrix import AUTHENTICATED, Case, World, statuses


def _event(world: World, key: str, hospital_id: int) -> None:
    with transaction.atomic():
        world.rows[key] = audit_record(
            actor=world.actors.data_manager, action="update", object_type="registry.hospital",
            object_id=hospital_id, hospital_id=hospital_id,
        )


def arrange(world: World) -> None:
    a = world.actors
    world.rows["hospital_a"] = a.hospital_a
    world.rows["hospital_b"] = a.hospital_b
    world.rows["membership_coord_a"] = HospitalMembership.objects.get(user=a.coordinator_a)
    world.rows["membership_coord_b"] = HospitalMembership.objects.get(user=a.coordinator_b)
    world.rows["membership_extra_b"] = MembershipFactory(hospital=a.hospital_b, role=HospitalRole.INVESTIGATOR)
    _event(world, "event_a", a.hospital_a.pk)
    _event(world, "event_b", a.hospital_b.pk)
    world.rows["job_coord_a"] = Job.objects.create(kind="audit_verify", requested_by=a.coordinator_a, request_id="m")
    world.rows["job_coord_b"] = Job.objects.create(kind="audit_verify", requested_by=a.coordinator_b, request_id="m")


SEE_A = {"coordinator_a", "investigator_a", "monitor_a", "data_manager"}
NOT_A = {"coordinator_b", "nobody"}


def _token_credentials(world: World, actor: str) -> dict[str, Any]:
    return {"username": actor, "password": "correct-horse-battery"}


CASES = [
    Case("api root", "api-root", statuses(ok=AUTHENTICATED)),
    Case("me", "me", statuses(ok=AUTHENTICATED)),
    Case("token with own password", "auth-token", statuses(ok=AUTHENTICATED, anonymous=400), method="post",
         data=_token_credentials),
    Case("hospital list", "hospital-list", statuses(ok=AUTHENTICATED), universe=("hospital_a", "hospital_b"),
         visible={"coordinator_a": {"hospital_a"}, "investigator_a": {"hospital_a"}, "coordinator_b": {"hospital_b"},
                  "monitor_a": {"hospital_a"}, "data_manager": {"hospital_a", "hospital_b"}, "nobody": set()}),
    Case("hospital detail", "hospital-detail", statuses(ok=SEE_A, hidden=NOT_A), args=lambda w: [w["hospital_a"].pk]),
    Case("hospital update", "hospital-detail",
         statuses(ok={"data_manager"}, hidden=NOT_A, forbidden={"coordinator_a", "investigator_a", "monitor_a"}),
         method="patch", args=lambda w: [w["hospital_a"].pk],
         data=lambda w, actor: {"city": "Tianjin", "reason": "site moved campus"}),
    Case("membership list", "membership-list", statuses(ok=AUTHENTICATED),
         universe=("membership_coord_a", "membership_coord_b", "membership_extra_b"),
         visible={"coordinator_a": {"membership_coord_a"}, "investigator_a": {"membership_coord_a"},
                  "coordinator_b": {"membership_coord_b", "membership_extra_b"}, "monitor_a": {"membership_coord_a"},
                  "data_manager": {"membership_coord_a", "membership_coord_b", "membership_extra_b"}, "nobody": set()}),
    Case("membership detail", "membership-detail", statuses(ok=SEE_A, hidden=NOT_A),
         args=lambda w: [w["membership_coord_a"].pk]),
    Case("audit event list", "audit-event-list", statuses(ok=AUTHENTICATED), universe=("event_a", "event_b"),
         id_field="seq", row_id=lambda row: row.seq,
         visible={"coordinator_a": set(), "investigator_a": set(), "coordinator_b": set(), "monitor_a": {"event_a"},
                  "data_manager": {"event_a", "event_b"}, "nobody": set()}),
    Case("audit event detail", "audit-event-detail",
         statuses(ok={"monitor_a", "data_manager"}, hidden={"coordinator_a", "investigator_a", "coordinator_b", "nobody"}),
         args=lambda w: [w["event_a"].seq]),
    Case("audit verify", "audit-event-verify",
         statuses(ok={"data_manager"}, ok_status=202,
                  forbidden={"coordinator_a", "investigator_a", "coordinator_b", "monitor_a", "nobody"}),
         method="post"),
    Case("job list", "job-list", statuses(ok=AUTHENTICATED), universe=("job_coord_a", "job_coord_b"),
         visible={"coordinator_a": {"job_coord_a"}, "investigator_a": set(), "coordinator_b": {"job_coord_b"},
                  "monitor_a": set(), "data_manager": {"job_coord_a", "job_coord_b"}, "nobody": set()}),
    Case("job detail", "job-detail",
         statuses(ok={"coordinator_a", "data_manager"},
                  hidden={"investigator_a", "coordinator_b", "monitor_a", "nobody"}),
         args=lambda w: [w["job_coord_a"].pk]),
]
