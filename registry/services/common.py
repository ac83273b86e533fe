"""Pieces every service uses: validation into the domain error, and the audited save."""
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from registry.access import Action, ensure_in_scope
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User


def validation_error(exc: ValidationError) -> ApplicationError:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    first = next(iter(fields.values()))[0] if fields else _("Invalid input.")
    return ApplicationError(first, code="invalid", fields=fields)


def validate(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise validation_error(exc) from exc


def require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            _("A reason is required to change data that was already recorded."),
            code="reason_required",
            fields={"reason": [_("This field is required.")]},
        )
    return reason


def apply_changes(instance: models.Model, data: Mapping[str, Any], *, allowed: frozenset[str]) -> list[str]:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ApplicationError(
            _("These fields cannot be changed here: %(fields)s") % {"fields": ", ".join(unknown)},
            code="field_not_editable",
            fields={name: [_("This field cannot be changed.")] for name in unknown},
        )
    changed = [k for k, v in data.items() if getattr(instance, k) != v]
    for key in changed:
        setattr(instance, key, data[key])
    return changed


def audited_save(
    instance: models.Model,
    *,
    actor: User,
    action: str,
    before: dict[str, Any] | None,
    reason: str = "",
    scope_action: Action = Action.CHANGE,
    hospital_id: int | None = None,
    trial_id: int | None = None,
) -> None:
    """Validate, save, re-check the writer's scope, and append the audit event, in one transaction.

    The caller's @transaction.atomic makes the four steps one unit: a failed scope check rolls the
    save back, and the event exists exactly when the change does.
    """
    validate(instance)
    instance.save()
    ensure_in_scope(instance, user=actor, action=scope_action)
    audit_record(
        actor=actor, action=action, instance=instance, before=before, after=snapshot(instance), reason=reason,
        hospital_id=hospital_id if hospital_id is not None else getattr(instance, "hospital_id", None),
        trial_id=trial_id,
    )
