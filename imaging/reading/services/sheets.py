"""Score sheets: a reader's draft, its submission (total and flag computed here), and the consensus read."""
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging.models import ImagingStudy
from imaging.reading import rules, selectors
from imaging.reading.models import ScoreSheet
from registry.access import Action, Rule, ensure_in_scope, may
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User
from registry.services.common import validate

MIN_READS_FOR_CONSENSUS = 2


def _visible_study(actor: User, study: ImagingStudy) -> ImagingStudy:
    """The study, if the actor sees it at its hospital or reads centrally for a trial its patient is in."""
    found = selectors.scorable_studies(user=actor).filter(pk=study.pk).first()
    if found is None:
        raise ApplicationError(_("No such imaging study."), code="out_of_scope", fields={"study": [_("Does not exist.")]})
    if not may(actor, Action.ADD, ScoreSheet):
        raise ApplicationError(_("Your role does not allow scoring studies."), code="not_allowed")
    return found


def _create(*, actor: User, study: ImagingStudy, kind: str, role: str, values: Mapping[str, Any] | None,
            timepoint: str, comment: str) -> ScoreSheet:
    rules.check_tracer(kind, study.tracer)
    sheet = ScoreSheet(study=study, reader=actor, kind=kind, role=role, timepoint=timepoint, comment=comment,
                       values=rules.clean_values(kind, values or {}, complete=False))
    validate(sheet, exclude=["study", "reader"])
    try:
        with transaction.atomic():
            sheet.save()
    except IntegrityError:
        if role == ScoreSheet.Role.CONSENSUS:
            message = _("This study already has a consensus read under %(kind)s.")
        else:
            message = _("This study already has your read under %(kind)s.")
        raise ApplicationError(message % {"kind": sheet.get_kind_display()}, code="duplicate") from None
    ensure_in_scope(sheet, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=sheet, after=snapshot(sheet), hospital_id=study.patient.hospital_id)
    return sheet


@transaction.atomic
def score_sheet_create(*, actor: User, study: ImagingStudy, kind: str, values: Mapping[str, Any] | None = None,
                       timepoint: str = "", comment: str = "") -> ScoreSheet:
    """Start (and optionally fill) a reader's independent read of a study; it stays a private draft until submitted."""
    study = _visible_study(actor, study)
    return _create(actor=actor, study=study, kind=kind, role=ScoreSheet.Role.READ, values=values, timepoint=timepoint,
                   comment=comment)


@transaction.atomic
def consensus_sheet_create(*, actor: User, study: ImagingStudy, kind: str, values: Mapping[str, Any] | None = None,
                           timepoint: str = "", comment: str = "") -> ScoreSheet:
    """The adjudicator's consensus read, once at least two independent reads are submitted.

    The adjudicator is a data manager, or an investigator at the study's hospital who did not read the
    study under this system (an adjudicator does not settle a disagreement they are part of).
    """
    study = _visible_study(actor, study)
    reads = ScoreSheet.objects.filter(study=study, kind=kind, role=ScoreSheet.Role.READ)
    submitted = reads.filter(status=ScoreSheet.Status.SUBMITTED).count()
    if submitted < MIN_READS_FOR_CONSENSUS:
        raise ApplicationError(_("A consensus read needs at least %(needed)s submitted reads (this study has %(submitted)s).")
                               % {"needed": MIN_READS_FOR_CONSENSUS, "submitted": submitted}, code="too_few_reads")
    if not may(actor, Rule.ADJUDICATE, study) and reads.filter(reader=actor).exists():
        raise ApplicationError(_("You read this study yourself; the consensus read is made by another investigator "
                                 "or a data manager."), code="not_independent")
    return _create(actor=actor, study=study, kind=kind, role=ScoreSheet.Role.CONSENSUS, values=values,
                   timepoint=timepoint, comment=comment)


def _own_draft(actor: User, sheet: ScoreSheet) -> ScoreSheet:
    found = ScoreSheet.objects.restrict(actor, Action.CHANGE).select_for_update().filter(pk=sheet.pk).first()
    if found is None:
        raise ApplicationError(_("Only the reader who wrote this sheet can change it."), code="not_allowed")
    if found.status != ScoreSheet.Status.DRAFT:
        raise ApplicationError(_("This sheet is submitted and can no longer change."), code="already_submitted")
    return found


@transaction.atomic
def score_sheet_update(*, actor: User, sheet: ScoreSheet, values: Mapping[str, Any] | None = None,
                       timepoint: str | None = None, comment: str | None = None) -> ScoreSheet:
    """Change a draft; `values` are merged into what is there (a segment set to null is cleared)."""
    sheet = _own_draft(actor, sheet)
    before = snapshot(sheet)
    if values is not None:
        sheet.values = rules.clean_values(sheet.kind, rules.merge(sheet.kind, sheet.values, values), complete=False)
    if timepoint is not None:
        sheet.timepoint = timepoint
    if comment is not None:
        sheet.comment = comment
    validate(sheet)
    sheet.save()
    ensure_in_scope(sheet, user=actor, action=Action.CHANGE)
    audit_record(actor=actor, action="update", instance=sheet, before=before, after=snapshot(sheet),
                 hospital_id=sheet.study.patient.hospital_id)
    return sheet


@transaction.atomic
def score_sheet_submit(*, actor: User, sheet: ScoreSheet) -> ScoreSheet:
    """Check that every segment is scored, compute the total and the flag, and lock the sheet."""
    sheet = _own_draft(actor, sheet)
    before = snapshot(sheet)
    sheet.values = rules.clean_values(sheet.kind, sheet.values, complete=True)
    sheet.total, sheet.flag = rules.total_and_flag(sheet.kind, sheet.values, sheet.timepoint)
    sheet.status, sheet.submitted_at = ScoreSheet.Status.SUBMITTED, timezone.now()
    validate(sheet)
    sheet.save()
    ensure_in_scope(sheet, user=actor, action=Action.VIEW)
    audit_record(actor=actor, action="submit", instance=sheet, before=before, after=snapshot(sheet),
                 hospital_id=sheet.study.patient.hospital_id)
    return sheet
