"""Tampering with the audit trail the way the fault test did, and seeing audit_verify find it (issue 14, reproducer 5).

Three attacks by someone with database access: (a) delete the newest event and set the chain head back; (b) TRUNCATE;
(c) rewrite event #N and re-hash everything after it. On PostgreSQL triggers refuse (a) and (b) outright; with the
triggers disabled (as the tables' owner or a superuser can), the keyed hash and the external checkpoints still
make `audit_verify` exit 1 naming what it found. SQLite has no triggers: the detection tests run there too.
"""
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from conftest import Actors
from registry.audit import (
    GENESIS_HASH,
    audit_checkpoint_write,
    audit_record,
    canonical_json,
    event_payload,
    read_checkpoints,
    verify_chain,
)
from registry.models import AuditChainHead, AuditEvent
from registry.services.hospitals import hospital_update
from registry.tasks import audit_checkpoint

EVENT_TRIGGER = ("registry_auditevent", "registry_auditevent_no_update_delete")
HEAD_TRIGGER = ("registry_auditchainhead", "registry_auditchainhead_forward_only")


@pytest.fixture(autouse=True)
def checkpoint_file(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    settings.AUDIT_CHECKPOINT_PATH = tmp_path / "audit" / "checkpoints.log"
    return settings.AUDIT_CHECKPOINT_PATH


@pytest.fixture
def events(actors: Actors) -> list[AuditEvent]:
    """Six keyed events of ordinary service writes."""
    start = AuditChainHead.objects.get(pk=1).seq
    for city in ["C1", "C2", "C3", "C4", "C5", "C6"]:
        hospital_update(actor=actors.data_manager, hospital=actors.hospital_a, data={"city": city}, reason="r")
    written = list(AuditEvent.objects.filter(seq__gt=start).order_by("seq"))
    assert len(written) == 6
    return written


def verify_command() -> str:
    """Run `manage.py audit_verify`; return what it printed, or raise its CommandError (exit status 1)."""
    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


def assert_verify_fails(match: str) -> CommandError:
    with pytest.raises(CommandError, match=match) as err:
        verify_command()
    assert err.value.returncode == 1
    return err.value


@pytest.fixture
def triggers_off() -> Iterator[Callable[[str, list[object]], None]]:
    """Run SQL behind the services' back with the audit triggers disabled, as the tables' owner or a superuser can."""

    def run(sql: str, params: list[object]) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Deferred foreign-key checks count as pending trigger events and would block ALTER TABLE.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table, trigger in (EVENT_TRIGGER, HEAD_TRIGGER):
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
            cursor.execute(sql, params)
            if connection.vendor == "postgresql":
                for table, trigger in (EVENT_TRIGGER, HEAD_TRIGGER):
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")

    yield run


def sha256_plain(event: AuditEvent) -> str:
    return hashlib.sha256((event.prev_hash + canonical_json(event_payload(event))).encode()).hexdigest()


def hmac_wrong_key(event: AuditEvent) -> str:
    material = event.prev_hash + canonical_json({**event_payload(event), "hash_version": event.hash_version})
    return hmac.new(b"an-attacker-guess-at-the-audit-key-000", material.encode(), hashlib.sha256).hexdigest()


def rewrite_from(target: AuditEvent, rehash: Callable[[AuditEvent], str], run: Callable[[str, list[object]], None], *,
                 version: int | None = None) -> None:
    """Change event #N's reason, then re-hash it and every event after it, and move the head to match."""
    prev_hash = target.prev_hash
    for event in AuditEvent.objects.filter(seq__gte=target.seq).order_by("seq"):
        if event.seq == target.seq:
            event.reason = "nothing to see here"
        event.prev_hash = prev_hash
        event.hash_version = version or event.hash_version
        event.hash = rehash(event)
        run("UPDATE registry_auditevent SET reason = %s, prev_hash = %s, hash = %s, hash_version = %s WHERE seq = %s",
            [event.reason, event.prev_hash, event.hash, event.hash_version, event.seq])
        prev_hash = event.hash
    run("UPDATE registry_auditchainhead SET hash = %s WHERE id = 1", [prev_hash])


def write_legacy_event(actor_id: int, n: int) -> AuditEvent:
    """An event as the code before the keyed scheme wrote it: hash_version 1, plain SHA-256."""
    head = AuditChainHead.objects.select_for_update().get(pk=1)
    event = AuditEvent(seq=head.seq + 1, created_at=timezone.now(), actor_id=actor_id, actor_username="legacy", action="touch",
                       object_type="registry.hospital", object_id=str(n), before=None, after={"n": n}, reason="",
                       request_id="legacy", source="shell", prev_hash=head.hash, hash_version=AuditEvent.HashVersion.SHA256)
    event.hash = sha256_plain(event)
    event.save(force_insert=True)
    head.seq, head.hash = event.seq, event.hash
    head.save(update_fields=["seq", "hash"])
    return event


# --- the keyed hash ----------------------------------------------------------------------------------------------


def test_new_events_are_hmac_signed_with_the_configured_key(events: list[AuditEvent], settings) -> None:  # type: ignore[no-untyped-def]
    event = events[0]
    assert event.hash_version == AuditEvent.HashVersion.HMAC_SHA256
    assert event.hash != sha256_plain(event)
    assert verify_chain().ok
    # The same rows under another key: the first keyed event no longer verifies, and the message names the key.
    settings.AUDIT_HMAC_KEY = "another-key-that-is-long-enough-0123456789"
    report = verify_chain()
    assert not report.ok and "AUDIT_HMAC_KEY" in report.problem
    assert AuditEvent.objects.filter(seq__lt=report.broken_seq, hash_version=AuditEvent.HashVersion.HMAC_SHA256).count() == 0


def test_no_key_no_audit_write(actors: Actors, settings) -> None:  # type: ignore[no-untyped-def]
    settings.AUDIT_HMAC_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="AUDIT_HMAC_KEY"), transaction.atomic():
        audit_record(actor=actors.data_manager, action="touch", instance=actors.hospital_a)


def test_legacy_sha256_events_still_verify_before_keyed_ones(actors: Actors) -> None:
    assert not AuditEvent.objects.filter(hash_version=AuditEvent.HashVersion.HMAC_SHA256).exists()
    with transaction.atomic():
        legacy = [write_legacy_event(actors.data_manager.pk, n) for n in range(3)]
    hospital_update(actor=actors.data_manager, hospital=actors.hospital_a, data={"city": "After"}, reason="r")
    newest = AuditEvent.objects.order_by("-seq").first()
    assert newest.hash_version == AuditEvent.HashVersion.HMAC_SHA256 and newest.prev_hash == legacy[-1].hash
    assert "Audit chain intact" in verify_command()


# --- (c) rewrite event #N and re-hash everything after it ------------------------------------------------------------


@pytest.mark.parametrize("rehash", [sha256_plain, hmac_wrong_key], ids=["plain-sha256", "wrong-key"])
def test_rewritten_and_rehashed_chain_fails_at_the_rewritten_event(events: list[AuditEvent], triggers_off, rehash) -> None:  # type: ignore[no-untyped-def]
    target = events[2]
    rewrite_from(target, rehash, triggers_off)
    # Every link after #N is consistent again and the head matches: only the key tells.
    report = verify_chain()
    assert not report.ok and report.broken_seq == target.seq and "altered" in report.problem
    assert_verify_fails(rf"broken at event #{target.seq}: event #{target.seq} was altered .* AUDIT_HMAC_KEY")


def test_rewrite_passed_off_as_legacy_sha256_fails_at_the_rewritten_event(events: list[AuditEvent], triggers_off) -> None:  # type: ignore[no-untyped-def]
    target = events[2]
    rewrite_from(target, sha256_plain, triggers_off, version=AuditEvent.HashVersion.SHA256)
    assert_verify_fails(rf"broken at event #{target.seq}: event #{target.seq} uses the legacy unkeyed hash after keyed events")


def test_rewrite_with_the_stolen_key_is_caught_by_the_checkpoint(events: list[AuditEvent], triggers_off, settings) -> None:  # type: ignore[no-untyped-def]
    checkpoint = audit_checkpoint_write()
    target = events[2]

    def right_key(event: AuditEvent) -> str:
        return hmac.new(settings.AUDIT_HMAC_KEY.encode(), (event.prev_hash + canonical_json(
            {**event_payload(event), "hash_version": event.hash_version})).encode(), hashlib.sha256).hexdigest()

    rewrite_from(target, right_key, triggers_off)
    assert_verify_fails(rf"broken at event #{checkpoint.seq}: event #{checkpoint.seq} disagrees with the checkpoint written")


# --- (a) delete the newest event and set the head back ----------------------------------------------------------------


def delete_last_and_set_head_back(run: Callable[[str, list[object]], None]) -> AuditEvent:
    last = AuditEvent.objects.order_by("-seq").first()
    run("DELETE FROM registry_auditevent WHERE seq = %s", [last.seq])
    run("UPDATE registry_auditchainhead SET seq = %s, hash = %s WHERE id = 1", [last.seq - 1, last.prev_hash])
    return last


def test_deleted_tail_with_head_set_back_is_shorter_than_the_checkpoint(events: list[AuditEvent], triggers_off) -> None:  # type: ignore[no-untyped-def]
    checkpoint = audit_checkpoint_write()
    removed = delete_last_and_set_head_back(triggers_off)
    assert checkpoint.seq == removed.seq
    report = verify_chain()
    assert not report.ok and report.broken_seq == removed.seq
    assert_verify_fails(rf"broken at event #{removed.seq}: the chain ends at #{removed.seq - 1}, shorter than checkpoint #{removed.seq}")


def test_without_a_checkpoint_the_same_deletion_goes_unseen(events: list[AuditEvent], triggers_off) -> None:  # type: ignore[no-untyped-def]
    """Why checkpoints exist: a consistent chain one event shorter verifies on its own."""
    delete_last_and_set_head_back(triggers_off)
    assert verify_chain().ok


@pytest.mark.postgres
def test_postgres_refuses_deleting_the_last_event_and_setting_the_head_back(on_postgres, events: list[AuditEvent]) -> None:  # type: ignore[no-untyped-def]
    last = events[-1]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM registry_auditevent WHERE seq = %s", [last.seq])
    attempts = [
        ("UPDATE registry_auditchainhead SET seq = %s, hash = %s WHERE id = 1", [last.seq - 1, last.prev_hash]),
        ("UPDATE registry_auditchainhead SET seq = seq + 1, hash = %s WHERE id = 1", ["f" * 64]),
        ("DELETE FROM registry_auditchainhead", []),
        ("INSERT INTO registry_auditchainhead (id, seq, hash) VALUES (2, 0, %s)", [GENESIS_HASH]),
    ]
    for sql, params in attempts:
        with pytest.raises(DatabaseError, match="moves only forward|must start an empty chain"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(sql, params)
    # Appends still move the head forward, and the chain verifies.
    audit_record(actor=last.actor, action="touch", object_type="registry.hospital", object_id="1")
    assert AuditChainHead.objects.get(pk=1).seq == last.seq + 1 and verify_chain().ok


# --- (b) TRUNCATE ----------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["registry_auditevent", "registry_auditchainhead"])
def test_postgres_refuses_truncate(on_postgres, events: list[AuditEvent], table: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatabaseError, match=f"{table} is append-only: TRUNCATE refused"), transaction.atomic(), \
            connection.cursor() as cursor:
        # The test session may empty test databases between transactional tests; a production session may not.
        cursor.execute("SET LOCAL nbnm.allow_audit_truncate = 'off'")
        # The fixture's rows leave deferred foreign-key checks pending, and PostgreSQL refuses any TRUNCATE over those
        # before a trigger runs; fire them now so the refusal seen is the audit trigger's.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.count() >= len(events) and verify_chain().ok


# --- checkpoints -------------------------------------------------------------------------------------------------------


def test_daily_checkpoint_appends_the_head_and_verify_compares_every_line(events: list[AuditEvent], checkpoint_file: Path,
                                                                          settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]["task"] == "registry.audit_checkpoint"
    assert audit_checkpoint.apply().get() == events[-1].seq
    first_line = checkpoint_file.read_text()
    audit_record(actor=events[0].actor, action="touch", object_type="registry.hospital", object_id="1")
    assert audit_checkpoint.apply().get() == events[-1].seq + 1
    text = checkpoint_file.read_text()
    assert text.startswith(first_line) and len(text.splitlines()) == 2  # appended, never rewritten
    marks = read_checkpoints()
    head = AuditChainHead.objects.get(pk=1)
    assert [(m.seq, m.hash) for m in marks] == [(events[-1].seq, events[-1].hash), (head.seq, head.hash)]
    assert json.loads(text.splitlines()[0])["at"]
    assert verify_chain().checkpoints == 2
    assert "2 checkpoints" in verify_command()


def test_an_unreadable_checkpoint_line_fails_verification(events: list[AuditEvent], checkpoint_file: Path) -> None:
    audit_checkpoint_write()
    with checkpoint_file.open("a") as f:
        f.write("not a checkpoint\n")
    assert_verify_fails("line 2 of the checkpoint file .* is not a checkpoint")


@override_settings(AUDIT_CHECKPOINT_PATH=Path("/nonexistent/nbnm/checkpoints.log"))
def test_no_checkpoint_file_yet_means_no_checkpoints(events: list[AuditEvent]) -> None:
    assert read_checkpoints() == [] and verify_chain().ok and "0 checkpoints" in verify_command()
