"""Writing and verifying the hash-chained audit trail.

Services call audit_record() inside their own transaction, so the event commits or rolls back with
the change it describes. Appends are serialised by locking the chain head row (SELECT ... FOR UPDATE
on PostgreSQL; BEGIN IMMEDIATE on SQLite), so concurrent writers never fork the chain.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from registry.context import current
from registry.models import AuditChainHead, AuditEvent, User

GENESIS_HASH = "0" * 64
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
            data[key] = getattr(instance, key).name or None
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


def compute_hash(event: AuditEvent) -> str:
    material = event.prev_hash + canonical_json(event_payload(event))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


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
    with transaction.atomic():
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
        )
        event.hash = compute_hash(event)
        event.save(force_insert=True)
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash"])
    return event


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify_chain(*, progress: Callable[[int, int], None] | None = None) -> ChainReport:
    """Walk the chain in order; report the first event whose link or content does not verify."""
    total = AuditEvent.objects.count()
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected_seq:
            return ChainReport(checked, expected_seq, f"event #{expected_seq} is missing (next present is #{event.seq})")
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.seq, f"event #{event.seq} does not link to event #{event.seq - 1}")
        if compute_hash(event) != event.hash:
            return ChainReport(checked, event.seq, f"event #{event.seq} was altered after it was written")
        expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
        if progress and checked % 1000 == 0:
            progress(checked, total)
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq, head.hash) != (checked, expected_prev):
        return ChainReport(checked, checked + 1 if head.seq > checked else head.seq,
                           f"the chain ends at #{checked} but its head records #{head.seq}: events were removed")
    return ChainReport(checked)
