"""Setting up a trial: the trial, its protocol versions, arms, sites, criteria, visit schedule and trial roles,
and the guarded status transitions. Data managers do this (in the admin); every write is audited."""
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from nucmed import dosage
from nucmed.radiopharmaceuticals import BY_CODE
from registry.access import Action, Rule, TrialRole, ensure_in_scope, forget_scope, may
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User
from registry.services.common import apply_changes, audited_save, require_reason, validate
from trials.models import Arm, EligibilityCriterion, ProtocolVersion, Trial, TrialMembership, TrialSite, VisitDefinition
from trials.services import randomisation

TRIAL_EDITABLE = frozenset({"title_zh", "title_en", "sponsor_organisation", "target_accrual", "dosage_table",
                            "fallback_dosage_table", "fdg_acquisition", "deviation_threshold_percent", "blinded", "randomised",
                            "stratify_by", "block_sizes"})
DOSAGE_FIELDS = frozenset({"dosage_table", "fallback_dosage_table"})
# Allocation settings fix the concealed list once recruitment has begun.
LOCKED_AFTER_DRAFT = frozenset({"randomised", "blinded", "stratify_by", "block_sizes"})

TRANSITIONS: dict[str, frozenset[str]] = {
    Trial.Status.DRAFT: frozenset({Trial.Status.RECRUITING}),
    Trial.Status.RECRUITING: frozenset({Trial.Status.SUSPENDED, Trial.Status.CLOSED_TO_ACCRUAL}),
    Trial.Status.SUSPENDED: frozenset({Trial.Status.RECRUITING}),
    Trial.Status.CLOSED_TO_ACCRUAL: frozenset({Trial.Status.COMPLETED}),
    Trial.Status.COMPLETED: frozenset(),
}


def _require_data_manager(actor: User) -> None:
    if not may(actor, Rule.SET_UP_TRIALS):
        raise ApplicationError(_("Only data managers set up trials."), code="not_allowed")


def check_dosage_tables(trial: Trial) -> None:
    """Every dose of the trial must get a recommended activity: refuse a (dosage table, agent) pair the table has no
    row for, unless a fallback table that has one is declared (docs/physics.md, "Dosage tables")."""
    tables = Trial.DosageTable.values
    if trial.dosage_table not in tables or trial.agent_code not in BY_CODE:
        return  # an unknown choice is reported by the model validation
    if trial.fallback_dosage_table and trial.fallback_dosage_table == trial.dosage_table:
        message = _("The fallback dosage table must be another table than the dosage table.")
        raise ApplicationError(message, code="invalid", fields={"fallback_dosage_table": [message]})
    if dosage.missing_row_reason(agent_code=trial.agent_code, table=trial.dosage_table) is None:
        return
    names = {"table": trial.get_dosage_table_display(), "agent": trial.get_agent_code_display()}
    if not trial.fallback_dosage_table:
        message = _("The %(table)s has no recommended activity for %(agent)s: choose a table that has one, or declare a "
                    "fallback dosage table that has one.") % names
        raise ApplicationError(message, code="no_dosage_row", fields={"dosage_table": [message]})
    if trial.fallback_dosage_table in tables and \
            dosage.missing_row_reason(agent_code=trial.agent_code, table=trial.fallback_dosage_table) is not None:
        message = _("The fallback table, %(fallback)s, has no recommended activity for %(agent)s either.") % {
            **names, "fallback": trial.get_fallback_dosage_table_display()}
        raise ApplicationError(message, code="no_dosage_row", fields={"fallback_dosage_table": [message]})


def _save(instance: models.Model, *, actor: User, trial_id: int, before: dict[str, Any] | None = None,
          reason: str = "", action: str = "create") -> None:
    scope_action = Action.ADD if before is None else Action.CHANGE
    audited_save(instance, actor=actor, action=action, before=before, reason=reason, scope_action=scope_action,
                 hospital_id=getattr(instance, "hospital_id", None), trial_id=trial_id)


@transaction.atomic
def trial_create(*, actor: User, **fields: Any) -> Trial:
    _require_data_manager(actor)
    trial = Trial(**fields)
    randomisation.check_settings(trial, arm_count=None)
    validate(trial)
    check_dosage_tables(trial)
    trial.save()
    ensure_in_scope(trial, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=trial, after=snapshot(trial), trial_id=trial.pk)
    return trial


@transaction.atomic
def trial_update(*, actor: User, trial: Trial, data: dict[str, Any], reason: str) -> Trial:
    reason = require_reason(reason)
    trial = Trial.objects.select_for_update().get(pk=trial.pk)
    locked = sorted(LOCKED_AFTER_DRAFT & set(data))
    if locked and trial.status != Trial.Status.DRAFT and any(getattr(trial, k) != data[k] for k in locked):
        raise ApplicationError(_("Allocation settings cannot change once the trial has left draft: %(fields)s")
                               % {"fields": ", ".join(locked)}, code="allocation_locked")
    before = snapshot(trial)
    if not apply_changes(trial, data, allowed=TRIAL_EDITABLE):
        return trial
    randomisation.check_settings(trial, arm_count=None)
    if DOSAGE_FIELDS & set(data):
        check_dosage_tables(trial)
    _save(trial, actor=actor, trial_id=trial.pk, before=before, reason=reason, action="update")
    return trial


def _check_ready_to_recruit(trial: Trial) -> None:
    if not trial.protocol_versions.exists():
        raise ApplicationError(_("A trial needs an approved protocol version before it recruits."), code="no_protocol")
    arms = trial.arms.count()
    if arms == 0:
        raise ApplicationError(_("A trial needs at least one arm before it recruits."), code="no_arms")
    if trial.randomised:
        randomisation.check_settings(trial, arm_count=arms)


@transaction.atomic
def trial_transition(*, actor: User, trial: Trial, to: str, reason: str) -> Trial:
    """Move a trial along draft -> recruiting -> closed to accrual -> completed (suspended <-> recruiting).

    A conditional update on the status read here, so two concurrent transitions cannot both succeed.
    """
    reason = require_reason(reason)
    _require_data_manager(actor)
    trial = Trial.objects.restrict(actor, Action.CHANGE).filter(pk=trial.pk).first()
    if trial is None:
        raise ApplicationError(_("This trial is not one you may change."), code="out_of_scope")
    if to not in TRANSITIONS.get(trial.status, frozenset()):
        raise ApplicationError(_("A trial cannot go from %(current)s to %(to)s.")
                               % {"current": trial.get_status_display().lower(), "to": to}, code="invalid_transition",
                               fields={"status": [_("Not allowed from %(current)s.") % {"current": trial.status}]})
    if to == Trial.Status.RECRUITING and trial.status == Trial.Status.DRAFT:
        _check_ready_to_recruit(trial)
    before = snapshot(trial)
    changed = Trial.objects.filter(pk=trial.pk, status=trial.status).update(status=to, updated_at=timezone.now())
    if changed != 1:
        raise ApplicationError(_("The trial's status was changed by someone else; reload and try again."), code="conflict")
    trial.refresh_from_db()
    if trial.randomised and to == Trial.Status.RECRUITING:
        randomisation.ensure_list(actor=actor, trial=trial)
    audit_record(actor=actor, action="transition", instance=trial, before=before, after=snapshot(trial), reason=reason,
                 trial_id=trial.pk)
    return trial


@transaction.atomic
def protocol_version_create(*, actor: User, trial: Trial, **fields: Any) -> ProtocolVersion:
    _require_data_manager(actor)
    version = ProtocolVersion(trial=trial, **fields)
    _save(version, actor=actor, trial_id=trial.pk)
    return version


@transaction.atomic
def arm_create(*, actor: User, trial: Trial, **fields: Any) -> Arm:
    _require_data_manager(actor)
    if trial.status != Trial.Status.DRAFT and trial.randomised:
        raise ApplicationError(_("Arms of a randomised trial are fixed once it recruits."), code="allocation_locked")
    arm = Arm(trial=trial, **fields)
    _save(arm, actor=actor, trial_id=trial.pk)
    return arm


@transaction.atomic
def trial_site_create(*, actor: User, trial: Trial, **fields: Any) -> TrialSite:
    _require_data_manager(actor)
    site = TrialSite(trial=trial, **fields)
    _save(site, actor=actor, trial_id=trial.pk)
    return site


SITE_EDITABLE = frozenset({"principal_investigator", "activated_on", "closed_on", "target_accrual", "fdg_acquisition"})


@transaction.atomic
def trial_site_update(*, actor: User, site: TrialSite, data: dict[str, Any], reason: str) -> TrialSite:
    reason = require_reason(reason)
    site = TrialSite.objects.select_for_update().get(pk=site.pk)
    before = snapshot(site)
    if apply_changes(site, data, allowed=SITE_EDITABLE):
        _save(site, actor=actor, trial_id=site.trial_id, before=before, reason=reason, action="update")
    return site


@transaction.atomic
def criterion_create(*, actor: User, protocol_version: ProtocolVersion, **fields: Any) -> EligibilityCriterion:
    _require_data_manager(actor)
    criterion = EligibilityCriterion(protocol_version=protocol_version, **fields)
    _save(criterion, actor=actor, trial_id=protocol_version.trial_id)
    return criterion


@transaction.atomic
def visit_definition_create(*, actor: User, protocol_version: ProtocolVersion, **fields: Any) -> VisitDefinition:
    _require_data_manager(actor)
    definition = VisitDefinition(protocol_version=protocol_version, **fields)
    _save(definition, actor=actor, trial_id=protocol_version.trial_id)
    return definition


@transaction.atomic
def trial_membership_grant(*, actor: User, user: User, trial: Trial, role: str, reason: str = "") -> TrialMembership:
    """Give a user a role in one trial (sponsor, trial monitor, central reader); data managers of every hospital do."""
    if role not in TrialRole.values:
        raise ApplicationError(_("Unknown trial role %(role)s.") % {"role": repr(role)}, code="invalid",
                               fields={"role": [_("Unknown role.")]})
    if TrialMembership.objects.filter(user=user, trial=trial, role=role).exists():
        raise ApplicationError(_("This user already has this role in this trial."), code="duplicate")
    membership = TrialMembership(user=user, trial=trial, role=role)
    _save(membership, actor=actor, trial_id=trial.pk, reason=reason, action="grant")
    forget_scope(user)
    return membership


@transaction.atomic
def trial_membership_revoke(*, actor: User, membership: TrialMembership, reason: str) -> None:
    reason = require_reason(reason)
    membership = TrialMembership.objects.restrict(actor, Action.DELETE).filter(pk=membership.pk).first()
    if membership is None:
        raise ApplicationError(_("This trial role is not one you may revoke."), code="out_of_scope")
    before = snapshot(membership)
    membership.delete()
    audit_record(actor=actor, action="revoke", object_type="trials.trialmembership", object_id=before["id"],
                 before=before, reason=reason, trial_id=before["trial"])
    forget_scope(membership.user)
