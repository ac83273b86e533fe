"""The audit trail: one event per write with the right before/after, a verifiable chain, tamper detection."""
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from conftest import Actors, api_client
from registry.access import HospitalRole
from registry.audit import REDACTED, audit_checkpoint_write, audit_record, snapshot, verify_chain
from registry.context import work_context
from registry.errors import ApplicationError
from registry.models import AuditEvent, Hospital, HospitalMembership, Job
from registry.services.hospitals import hospital_update, membership_grant, membership_update
from registry.tests.factories import HospitalFactory, MembershipFactory, UserFactory


def _events_after(seq: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))


def _last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def test_update_writes_one_event_with_before_after_and_reason(actors: Actors) -> None:
    start = _last_seq()
    with work_context(source="api", request_id="req-12345678"):
        hospital_update(actor=actors.data_manager, hospital=actors.hospital_a, data={"city": "Tianjin"},
                        reason="site moved")
    [event] = _events_after(start)
    assert (event.action, event.object_type, event.object_id) == ("update", "registry.hospital", str(actors.hospital_a.pk))
    assert event.before["city"] == "Beijing" and event.after["city"] == "Tianjin"
    assert event.reason == "site moved" and event.request_id == "req-12345678" and event.source == "api"
    assert event.actor == actors.data_manager and event.hospital_id == actors.hospital_a.pk
    assert verify_chain().ok


def test_no_change_writes_no_event(actors: Actors) -> None:
    start = _last_seq()
    hospital_update(actor=actors.data_manager, hospital=actors.hospital_a, data={"city": "Beijing"}, reason="x")
    assert _events_after(start) == []


def test_update_without_reason_is_refused_and_nothing_written(actors: Actors) -> None:
    start = _last_seq()
    with pytest.raises(ApplicationError) as err:
        hospital_update(actor=actors.data_manager, hospital=actors.hospital_a, data={"city": "X"}, reason=" ")
    assert err.value.code == "reason_required" and "reason" in err.value.fields
    assert _events_after(start) == [] and Hospital.objects.get(pk=actors.hospital_a.pk).city == "Beijing"


def test_invalid_value_is_refused_with_field_named(actors: Actors) -> None:
    with pytest.raises(ApplicationError) as err:
        hospital_update(actor=actors.data_manager, hospital=actors.hospital_a, data={"city": "x" * 61}, reason="r")
    assert "city" in err.value.fields
    assert Hospital.objects.get(pk=actors.hospital_a.pk).city == "Beijing"


def test_moving_a_record_out_of_the_writers_scope_is_refused(actors: Actors) -> None:
    """A data manager of A only cannot move a membership to B: the write and its event roll back."""
    dm_a = UserFactory(username="dm_a")
    MembershipFactory(user=dm_a, hospital=actors.hospital_a, role=HospitalRole.DATA_MANAGER)
    membership = HospitalMembership.objects.get(user=actors.coordinator_a)
    start = _last_seq()
    with pytest.raises(ApplicationError) as err:
        membership_update(actor=dm_a, membership=membership, data={"hospital": actors.hospital_b}, reason="transfer")
    assert err.value.code == "out_of_scope"
    assert HospitalMembership.objects.get(pk=membership.pk).hospital_id == actors.hospital_a.pk
    assert _events_after(start) == []
    # The all-hospitals data manager may make the same move, and it is audited.
    membership_update(actor=actors.data_manager, membership=membership, data={"hospital": actors.hospital_b},
                      reason="transfer")
    [event] = _events_after(start)
    assert event.before["hospital_id"] == actors.hospital_a.pk and event.after["hospital_id"] == actors.hospital_b.pk


def test_grant_is_audited_and_changes_scope_at_once(actors: Actors) -> None:
    user = UserFactory(username="newcomer")
    start = _last_seq()
    membership_grant(actor=actors.data_manager, user=user, role=HospitalRole.COORDINATOR, hospital=actors.hospital_b)
    [event] = _events_after(start)
    assert event.action == "grant" and event.after["role"] == "coordinator"
    assert list(Hospital.objects.restrict(user)) == [actors.hospital_b]


def test_identifiers_are_redacted_in_snapshots(actors: Actors) -> None:
    user = actors.coordinator_a
    user.email = "someone@example.org"
    data = snapshot(user)
    assert data["email"] == REDACTED and data["password"] == REDACTED and data["username"] == "coordinator_a"


def _tamper(sql: str, params: list[object]) -> None:
    """Alter the trail behind the services' back, as an attacker with database access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks count as pending trigger events and would block ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE registry_auditevent DISABLE TRIGGER registry_auditevent_no_update_delete")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE registry_auditevent ENABLE TRIGGER registry_auditevent_no_update_delete")


@pytest.fixture
def five_events(actors: Actors) -> list[AuditEvent]:
    for city in ["C1", "C2", "C3", "C4", "C5"]:
        hospital_update(actor=actors.data_manager, hospital=actors.hospital_a, data={"city": city}, reason="r")
    return _events_after(_last_seq() - 5)


def test_chain_verifies_and_command_reports_it(five_events: list[AuditEvent], capsys) -> None:
    call_command("audit_verify")
    assert "Audit chain intact" in capsys.readouterr().out


def test_altered_row_is_detected_at_its_link(five_events: list[AuditEvent]) -> None:
    target = five_events[2]
    _tamper("UPDATE registry_auditevent SET reason = %s WHERE seq = %s", ["nothing to see", target.seq])
    report = verify_chain()
    assert not report.ok and report.broken_seq == target.seq and "altered" in report.problem
    with pytest.raises(CommandError, match=f"broken at event #{target.seq}"):
        call_command("audit_verify")


def test_relinked_row_is_detected(five_events: list[AuditEvent]) -> None:
    target = five_events[3]
    _tamper("UPDATE registry_auditevent SET prev_hash = %s WHERE seq = %s", ["f" * 64, target.seq])
    assert verify_chain().broken_seq == target.seq


def test_deleted_middle_row_is_detected(five_events: list[AuditEvent]) -> None:
    target = five_events[1]
    _tamper("DELETE FROM registry_auditevent WHERE seq = %s", [target.seq])
    report = verify_chain()
    assert report.broken_seq == target.seq and "missing" in report.problem


def test_deleted_last_row_is_detected_through_the_head(five_events: list[AuditEvent]) -> None:
    target = five_events[-1]
    _tamper("DELETE FROM registry_auditevent WHERE seq = %s", [target.seq])
    report = verify_chain()
    assert not report.ok and report.broken_seq == target.seq and "removed" in report.problem


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["UPDATE registry_auditevent SET reason = 'x'", "DELETE FROM registry_auditevent"])
def test_postgres_trigger_refuses_update_and_delete(on_postgres, five_events, statement: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert verify_chain().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain(on_postgres) -> None:
    actor = UserFactory(username="writer")
    hospitals = [HospitalFactory(code=f"T{i}") for i in range(8)]
    start = _last_seq()
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def write(hospital: Hospital) -> None:
        try:
            barrier.wait()
            for n in range(10):
                with transaction.atomic():
                    audit_record(actor=actor, action="touch", instance=hospital, after={"n": n},
                                 hospital_id=hospital.pk)
        except BaseException as exc:  # noqa: BLE001 - surfaced in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(h,)) for h in hospitals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    events = _events_after(start)
    assert len(events) == 80 and [e.seq for e in events] == list(range(start + 1, start + 81))
    assert len({e.prev_hash for e in events}) == 80  # no two events claim the same predecessor
    assert verify_chain().ok


def test_api_write_carries_request_id_and_source(actors: Actors) -> None:
    client = api_client(actors.data_manager)
    start = _last_seq()
    response = client.patch(f"/api/v1/hospitals/{actors.hospital_a.pk}/", {"city": "Xi'an", "reason": "typo"},
                            format="json", HTTP_X_REQUEST_ID="trace-abcdef12")
    assert response.status_code == 200 and response["X-Request-ID"] == "trace-abcdef12"
    [event] = _events_after(start)
    assert event.request_id == "trace-abcdef12" and event.source == "api"


def test_command_writes_are_attributed_to_the_command(db) -> None:
    start = _last_seq()
    call_command("seed_demo", patients=20, scale=0)
    events = _events_after(start)
    assert events and {e.source for e in events} == {"command"} and {e.actor_username for e in events} == {"system"}
    assert verify_chain().ok


def test_verify_job_compares_the_chain_with_the_checkpoints(eager, five_events: list[AuditEvent], settings, tmp_path,
                                                           django_capture_on_commit_callbacks) -> None:
    """The API's verify job (POST /api/v1/audit-events/verify/) reads the same checkpoints as the command."""
    settings.AUDIT_CHECKPOINT_PATH = tmp_path / "checkpoints.log"
    checkpoint = audit_checkpoint_write()
    last = five_events[-1]
    _tamper("DELETE FROM registry_auditevent WHERE seq = %s", [last.seq])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE registry_auditchainhead DISABLE TRIGGER registry_auditchainhead_forward_only")
        cursor.execute("UPDATE registry_auditchainhead SET seq = %s, hash = %s WHERE id = 1", [last.seq - 1, last.prev_hash])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE registry_auditchainhead ENABLE TRIGGER registry_auditchainhead_forward_only")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(five_events[0].actor).post("/api/v1/audit-events/verify/")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.result["ok"] is False and job.result["broken_seq"] == checkpoint.seq
    assert f"shorter than checkpoint #{checkpoint.seq}" in job.result["problem"]
