from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from registry.access import ROLES_HELD_EVERYWHERE, Action, Rule, ensure_in_scope, forget_scope, may
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import Hospital, HospitalMembership, User
from registry.services.common import apply_changes, audited_save, require_reason, validate

HOSPITAL_EDITABLE = frozenset({"name_zh", "name_en", "province", "city", "is_active", "dosage_table"})


@transaction.atomic
def hospital_create(
    *, actor: User, code: str, name_zh: str, name_en: str, province: str, city: str, is_lead: bool = False
) -> Hospital:
    """Register a site. Platform set-up (admin, seed, commands) rather than a clinical write, so no scope check."""
    hospital = Hospital(code=code, name_zh=name_zh, name_en=name_en, province=province, city=city, is_lead=is_lead)
    validate(hospital)
    hospital.save()
    audit_record(actor=actor, action="create", instance=hospital, after=snapshot(hospital), hospital_id=hospital.pk)
    return hospital


@transaction.atomic
def hospital_update(*, actor: User, hospital: Hospital, data: dict[str, Any], reason: str) -> Hospital:
    reason = require_reason(reason)
    hospital = Hospital.objects.select_for_update().get(pk=hospital.pk)
    before = snapshot(hospital)
    if not apply_changes(hospital, data, allowed=HOSPITAL_EDITABLE):
        return hospital
    audited_save(hospital, actor=actor, action="update", before=before, reason=reason, hospital_id=hospital.pk)
    return hospital


@transaction.atomic
def membership_grant(
    *, actor: User, user: User, role: str, hospital: Hospital | None, reason: str = ""
) -> HospitalMembership:
    """Give a user a role at a hospital (or, for a data manager, at every hospital)."""
    if hospital is None and role not in ROLES_HELD_EVERYWHERE:
        raise ApplicationError(
            _("Only a data manager can be given every hospital."), code="invalid", fields={"hospital": [_("Required.")]}
        )
    if HospitalMembership.objects.filter(user=user, hospital=hospital, role=role).exists():
        raise ApplicationError(_("This user already has this role here."), code="duplicate")
    membership = HospitalMembership(user=user, hospital=hospital, role=role)
    validate(membership, exclude=["user", "hospital"])
    membership.save()
    # Platform set-up (seed, bootstrap commands, superusers) grants the first roles; anyone else grants only
    # where they administer staff, and a role at every hospital only from every hospital.
    if not may(actor, Rule.SET_UP_PLATFORM):
        ensure_in_scope(membership, user=actor, action=Action.ADD)
    audit_record(
        actor=actor, action="grant", instance=membership, after=snapshot(membership), reason=reason,
        hospital_id=membership.hospital_id,
    )
    forget_scope(user)
    return membership


@transaction.atomic
def membership_update(
    *, actor: User, membership: HospitalMembership, data: dict[str, Any], reason: str
) -> HospitalMembership:
    """Change a membership's role or hospital; the writer must hold it both before and after."""
    reason = require_reason(reason)
    membership = HospitalMembership.objects.select_for_update().get(pk=membership.pk)
    before = snapshot(membership)
    if not apply_changes(membership, data, allowed=frozenset({"hospital", "role"})):
        return membership
    audited_save(membership, actor=actor, action="update", before=before, reason=reason)
    forget_scope(membership.user)
    return membership

