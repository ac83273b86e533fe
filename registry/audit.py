"""Writing and verifying the hash-chained audit trail.

Services call audit_record() inside their own transaction, so the event commits or rolls back with
the change it describes. Appends are serialised by locking the chain head row (SELECT ... FOR UPDATE
on PostgreSQL; BEGIN IMMEDIATE on SQLite), so concurrent writers never fork the chain.

Each hash is an HMAC keyed with settings.AUDIT_HMAC_KEY, which lives outside the database: someone who
can rewrite rows cannot re-hash the chain after them. A daily task appends the head's seq and hash to a
file outside the database (settings.AUDIT_CHECKPOINT_PATH); verification compares the chain with every
line of it, so removing the newest events and setting the head back is found too.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from registry.context import current
from registry.files import is_generated
from registry.models import AuditChainHead, AuditEvent, User

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
HashVersion = AuditEvent.HashVersion
# The scheme of every new event; older schemes stay verifiable for the events written under them.
CURRENT_HASH_VERSION = HashVersion.HMAC_SHA256
REDACTED = "[redacted]"
# Field names that hold personal identifiers anywhere in the platform: never written to the trail.
IDENTIFIER_FIELDS = frozenset(
    {
        "name", "full_name", "given_name", "family_name", "record_number", "hospital_record_number",
        "national_id", "phone", "guardian1_name", "guardian2_name", "guardian1_phone", "guardian2_phone",
        "address", "email", "password", "ciphertext", "record_number_hash",
    }
)


def _canonical(value: Any) -> Any:
    """Make a JSON value hash the same before storage and after a round trip through the database.

    PostgreSQL jsonb prints 1.0 as 1.0 but 1e20 as 100000000000000000000 (an int to Python), so
    integral floats are hashed as ints; NaN and infinities are not JSON and become null.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def to_json_value(value: Any) -> Any:
    """Dates, decimals, UUIDs and the like as their JSON text form, the way they are stored."""
    return _canonical(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def canonical_json(value: Any) -> str:
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def snapshot(instance: models.Model, *, redact: Iterable[str] = ()) -> dict[str, Any]:
    """The concrete fields of a row, identifiers redacted, ready for the before/after JSON."""
    hidden = IDENTIFIER_FIELDS | frozenset(redact) | frozenset(getattr(instance, "audit_redact", ()))
    data: dict[str, Any] = {}
    for f in instance._meta.concrete_fields:
        key = f.attname
        if f.name in hidden or key in hidden:
            data[key] = REDACTED
        elif isinstance(f, models.FileField):
            # A generated storage name (registry/files.py) says nothing about the patient; any other name may be the one
            # the file was uploaded with, so it is not written.
            name = getattr(instance, key).name or None
            data[key] = name if name is None or is_generated(name) else REDACTED
        else:
            data[key] = f.value_from_object(instance)
    return to_json_value(data)


def event_payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "created_at": event.created_at.astimezone(UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "hospital_id": event.hospital_id,
        "trial_id": event.trial_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "request_id": event.request_id,
        "source": event.source,
    }


def _hmac_key() -> bytes:
    key: str = settings.AUDIT_HMAC_KEY
    if not key:
        raise ImproperlyConfigured("AUDIT_HMAC_KEY is not set: audit events cannot be signed or verified")
    return key.encode("utf-8")


def compute_hash(event: AuditEvent) -> str:
    """The event's hash under its own scheme (event.hash_version)."""
    payload = event_payload(event)
    if event.hash_version == HashVersion.SHA256:
        return hashlib.sha256((event.prev_hash + canonical_json(payload)).encode("utf-8")).hexdigest()
    if event.hash_version == HashVersion.HMAC_SHA256:
        # The version is signed too, so a keyed event cannot be passed off as a legacy one.
        material = event.prev_hash + canonical_json({**payload, "hash_version": int(event.hash_version)})
        return hmac.new(_hmac_key(), material.encode("utf-8"), hashlib.sha256).hexdigest()
    raise ValueError(f"unknown audit hash version {event.hash_version!r}")


def object_label(instance: models.Model) -> str:
    return instance._meta.label_lower


def audit_record(
    *,
    actor: User,
    action: str,
    instance: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
    hospital_id: int | None = None,
    trial_id: int | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    if instance is not None:
        object_type = object_type or object_label(instance)
        object_id = instance.pk if object_id is None else object_id
    if not object_type:
        raise ValueError("audit_record needs an instance or an object_type")
    ctx = current()
    # No savepoint of its own (two statements fewer per event inside the caller's transaction): an event that fails to
    # append fails the caller's whole transaction, so a change is never kept without its event.
    with transaction.atomic(savepoint=False):
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            seq=head.seq + 1,
            created_at=timezone.now(),
            actor=actor,
            actor_username=actor.get_username(),
            action=action,
            object_type=object_type,
            object_id="" if object_id is None else str(object_id),
            hospital_id=hospital_id,
            trial_id=trial_id,
            before=to_json_value(before) if before is not None else None,
            after=to_json_value(after) if after is not None else None,
            reason=reason,
            request_id=ctx.request_id,
            source=ctx.source,
            prev_hash=head.hash,
            hash_version=CURRENT_HASH_VERSION,
        )
        event.hash = compute_hash(event)
        event.save(force_insert=True)
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash"])
    return event


@dataclass(frozen=True)
class Checkpoint:
    """One line of the checkpoint file: the chain head as it was at `at`."""

    seq: int
    hash: str
    at: str
    line: int


class CheckpointUnreadable(Exception):
    pass


def checkpoint_path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_PATH)


def audit_checkpoint_write() -> Checkpoint:
    """Append the committed chain head (seq, hash, time) as one JSON line to the checkpoint file.

    A plain file opened with O_APPEND rather than Django storage: the storage API can only create or
    replace whole files, and a checkpoint must never rewrite the lines before it. In production the path
    is on append-only or write-once (WORM / object-lock) storage that the database's users cannot change.
    """
    head = AuditChainHead.objects.filter(pk=1).first()
    seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
    at = timezone.now().astimezone(UTC).isoformat()
    path = checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        # One write() per line: with O_APPEND it lands whole at the end even if two writers race.
        os.write(fd, (canonical_json({"seq": seq, "hash": head_hash, "at": at}) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    logger.info("audit checkpoint written at event #%s", seq)
    return Checkpoint(seq=seq, hash=head_hash, at=at, line=0)


def read_checkpoints(path: Path | None = None) -> list[Checkpoint]:
    """Every checkpoint in the file, in file order; no file means none was written yet."""
    path = path or checkpoint_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise CheckpointUnreadable(f"the checkpoint file {path} cannot be read ({exc.strerror})") from exc
    found: list[Checkpoint] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            seq, head_hash, at = data["seq"], data["hash"], data["at"]
            if not (isinstance(seq, int) and seq >= 0 and isinstance(head_hash, str) and len(head_hash) == 64):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise CheckpointUnreadable(f"line {number} of the checkpoint file {path} is not a checkpoint") from None
        found.append(Checkpoint(seq=seq, hash=head_hash, at=str(at), line=number))
    return found


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_seq: int | None = None
    problem: str = ""
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return not self.problem


def _event_problem(event: AuditEvent, expected_seq: int, expected_prev: str, prev_version: int) -> str:
    if event.seq != expected_seq:
        return f"event #{expected_seq} is missing (next present is #{event.seq})"
    if event.prev_hash != expected_prev:
        return f"event #{event.seq} does not link to event #{event.seq - 1}"
    if event.hash_version not in HashVersion.values:
        return f"event #{event.seq} names an unknown hash scheme ({event.hash_version})"
    if event.hash_version < prev_version:
        # Schemes only ever move forward: a legacy hash after a keyed one is a rewrite that dodged the key.
        return f"event #{event.seq} uses the legacy unkeyed hash after keyed events: it was rewritten"
    if not hmac.compare_digest(compute_hash(event), event.hash):
        if event.hash_version == HashVersion.SHA256:
            return f"event #{event.seq} was altered after it was written"
        return (f"event #{event.seq} was altered after it was written: its hash does not verify with AUDIT_HMAC_KEY "
                f"(or the key is not the one it was written with)")
    return ""


def verify_chain(*, progress: Callable[[int, int], None] | None = None, checkpoints: list[Checkpoint] | None = None) -> ChainReport:
    """Walk the chain in order; report the first event whose link, content or checkpoint does not verify.

    `checkpoints` defaults to the lines of settings.AUDIT_CHECKPOINT_PATH.
    """
    if checkpoints is None:
        try:
            checkpoints = read_checkpoints()
        except CheckpointUnreadable as exc:
            return ChainReport(0, None, str(exc))
    by_seq: dict[int, list[Checkpoint]] = {}
    for mark in checkpoints:
        by_seq.setdefault(mark.seq, []).append(mark)
    total = AuditEvent.objects.count()
    expected_prev, expected_seq, checked, prev_version = GENESIS_HASH, 1, 0, 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        problem = _event_problem(event, expected_seq, expected_prev, prev_version)
        if problem:
            return ChainReport(checked, expected_seq if event.seq != expected_seq else event.seq, problem)
        for mark in by_seq.get(event.seq, ()):
            if mark.hash != event.hash:
                return ChainReport(checked, event.seq, f"event #{event.seq} disagrees with the checkpoint written {mark.at} "
                                                       f"(line {mark.line}): the chain was rewritten from there or before")
        expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
        prev_version = event.hash_version
        if progress and checked % 1000 == 0:
            progress(checked, total)
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq, head.hash) != (checked, expected_prev):
        return ChainReport(checked, checked + 1 if head.seq > checked else head.seq,
                           f"the chain ends at #{checked} but its head records #{head.seq}: events were removed")
    if checkpoints:
        longest = max(checkpoints, key=lambda mark: mark.seq)
        if longest.seq > checked:
            return ChainReport(checked, checked + 1, f"the chain ends at #{checked}, shorter than checkpoint #{longest.seq} "
                                                     f"written {longest.at} (line {longest.line}): events were removed")
    return ChainReport(checked, checkpoints=len(checkpoints))
