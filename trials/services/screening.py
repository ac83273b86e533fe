"""Screening a patient against the eligibility criteria of the trial's current protocol version."""
from collections.abc import Mapping
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action, ensure_in_scope
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import Patient, User
from registry.services.common import validate
from trials.models import EligibilityCriterion, ProtocolVersion, ScreeningAnswer, ScreeningRecord, Trial, TrialSite


def current_protocol(trial: Trial, on: date) -> ProtocolVersion:
    version = trial.protocol_versions.filter(effective_from__lte=on).order_by("-effective_from", "-id").first()
    if version is None:
        raise ApplicationError(_("Trial %(trial)s has no protocol version in force on %(date)s.")
                               % {"trial": trial.code, "date": on.isoformat()}, code="no_protocol")
    return version


@transaction.atomic
def screening_record_create(*, actor: User, trial: Trial, site: TrialSite, patient: Patient, screened_on: date,
                            answers: Mapping[int, bool], notes: str = "", today: date | None = None) -> ScreeningRecord:
    """Record a screening: `answers` maps every criterion id of the protocol version in force to "met".

    The outcome is derived here, never entered: eligible when every inclusion criterion is met and no exclusion
    criterion is; otherwise a screen failure listing the criteria that failed.
    """
    today = today or timezone.localdate()
    if site.trial_id != trial.pk:
        raise ApplicationError(_("This site does not belong to the trial."), code="invalid",
                               fields={"site": [_("Not a site of this trial.")]})
    if patient.hospital_id != site.hospital_id:
        raise ApplicationError(_("The patient is registered at another hospital than this site."), code="invalid",
                               fields={"patient": [_("Not a patient of this site's hospital.")]})
    if screened_on > today:
        raise ApplicationError(_("The screening date is in the future."), code="invalid",
                               fields={"screened_on": [_("In the future.")]})
    version = current_protocol(trial, screened_on)
    criteria = list(EligibilityCriterion.objects.filter(protocol_version=version))
    by_id = {c.pk: c for c in criteria}
    missing = sorted(c.label for c in criteria if c.pk not in answers)
    unknown = sorted(str(k) for k in answers if k not in by_id)
    if missing or unknown:
        parts = [_("Answer every criterion of protocol version %(version)s") % {"version": version.number}]
        if missing:
            parts.append(_("missing: %(criteria)s") % {"criteria": ", ".join(missing)})
        if unknown:
            parts.append(_("not criteria of this version: %(ids)s") % {"ids": ", ".join(unknown)})
        detail = "; ".join(parts) + "."
        raise ApplicationError(detail, code="incomplete_screening", fields={"answers": [detail]})
    answer_rows = [ScreeningAnswer(criterion=by_id[cid], met=bool(met)) for cid, met in answers.items()]
    failed = sorted((a.criterion.label for a in answer_rows if not a.passes), key=lambda label: (label[0] != "I", int(label[1:])))
    record = ScreeningRecord(
        trial=trial, site=site, patient=patient, protocol_version=version, screened_on=screened_on, notes=notes,
        outcome=ScreeningRecord.Outcome.SCREEN_FAILURE if failed else ScreeningRecord.Outcome.ELIGIBLE,
        failed_criteria=failed, screened_by=actor,
    )
    validate(record)
    record.save()
    for answer in answer_rows:
        answer.record = record
    ScreeningAnswer.objects.bulk_create(answer_rows)
    ensure_in_scope(record, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=record,
                 after={**snapshot(record), "answers": {a.criterion.label: a.met for a in answer_rows}},
                 hospital_id=site.hospital_id, trial_id=trial.pk)
    return record
