"""Subject visits: generated from the protocol's schedule at enrolment, dated from the first dose when anchored on it."""
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from registry.access import Action
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User
from trials.models import ProtocolDeviation, Subject, SubjectVisit, VisitDefinition
from trials.services.casebook import casebook_reason, casebook_void


def _dates(definition: VisitDefinition, anchor: date) -> dict[str, date]:
    """Visit windows are calendar days counted on local dates (a protocol's "day 7 +/- 2"), not durations: the anchor
    is the local date (settings.TIME_ZONE) of the enrolment or the first dose, so a daylight-saving change moves nothing."""
    target = anchor + timedelta(days=definition.day_offset)
    return {"target_date": target, "window_start": target - timedelta(days=definition.window_before_days),
            "window_end": target + timedelta(days=definition.window_after_days)}


def generate_visits(*, actor: User, subject: Subject) -> list[SubjectVisit]:
    """The subject's visits from its protocol version; called by the enrolment service inside its transaction."""
    enrolled = timezone.localdate(subject.enrolled_at)
    visits = []
    for definition in VisitDefinition.objects.filter(protocol_version_id=subject.protocol_version_id):
        if definition.anchor == VisitDefinition.Anchor.ENROLMENT:
            visits.append(SubjectVisit(subject=subject, definition=definition, status=SubjectVisit.Status.SCHEDULED,
                                       **_dates(definition, enrolled)))
        else:
            visits.append(SubjectVisit(subject=subject, definition=definition, status=SubjectVisit.Status.AWAITING_DOSING))
    SubjectVisit.objects.bulk_create(visits)
    audit_record(actor=actor, action="generate_visits", object_type="trials.subjectvisit", object_id=f"subject:{subject.pk}",
                 after={"visits": [v.definition.code for v in visits]}, hospital_id=subject.site.hospital_id,
                 trial_id=subject.trial_id)
    return visits


def anchor_on_first_dose(*, actor: User, subject: Subject, first_dose_on: date) -> int:
    """Date the visits counted from the first dose (again when the first dose's date was corrected); done and
    missed visits keep their dates. Returns how many visits changed."""
    changed = 0
    open_statuses = (SubjectVisit.Status.AWAITING_DOSING, SubjectVisit.Status.SCHEDULED)
    for visit in (SubjectVisit.objects.filter(subject=subject, definition__anchor=VisitDefinition.Anchor.DOSING,
                                              status__in=open_statuses).select_related("definition")):
        dates = _dates(visit.definition, first_dose_on)
        if visit.status == SubjectVisit.Status.SCHEDULED and visit.target_date == dates["target_date"]:
            continue
        for key, value in dates.items():
            setattr(visit, key, value)
        visit.status = SubjectVisit.Status.SCHEDULED
        visit.save(update_fields=[*dates, "status", "updated_at"])
        changed += 1
    if changed:
        audit_record(actor=actor, action="anchor_visits", object_type="trials.subjectvisit", object_id=f"subject:{subject.pk}",
                     after={"first_dose_on": first_dose_on.isoformat(), "visits": changed},
                     hospital_id=subject.site.hospital_id, trial_id=subject.trial_id)
    return changed


@transaction.atomic
def subject_visit_record(*, actor: User, visit: SubjectVisit, status: str, done_on: date | None = None,
                         reason: str = "", out_of_window_reason: str = "", today: date | None = None) -> SubjectVisit:
    """Mark a visit done (on a date) or missed. A visit done outside its window needs `out_of_window_reason` (kept on
    the visit and in the audit event) and raises a protocol deviation for review."""
    today = today or timezone.localdate()
    visit = (SubjectVisit.objects.restrict(actor, Action.CHANGE).select_for_update(of=("self",))
             .select_related("subject__site", "definition").filter(pk=visit.pk).first())
    if visit is None:
        raise ApplicationError(_("This visit is not one you may record."), code="out_of_scope")
    if visit.status in (SubjectVisit.Status.DONE, SubjectVisit.Status.MISSED) and not reason.strip():
        raise ApplicationError(_("This visit was already recorded; a reason is required to change it."),
                               code="reason_required", fields={"reason": [_("This field is required.")]})
    reason = casebook_reason(visit.subject, reason)
    if status == SubjectVisit.Status.DONE:
        if done_on is None:
            raise ApplicationError(_("A done visit needs its date."), code="invalid", fields={"done_on": [_("Required.")]})
        if done_on > today:
            raise ApplicationError(_("The visit date is in the future."), code="invalid",
                                   fields={"done_on": [_("In the future.")]})
        if done_on < timezone.localdate(visit.subject.enrolled_at):
            raise ApplicationError(_("The visit date is before enrolment."), code="invalid",
                                   fields={"done_on": [_("Before enrolment.")]})
    elif status == SubjectVisit.Status.MISSED:
        done_on = None
    else:
        raise ApplicationError(_("A visit is recorded as done or missed."), code="invalid",
                               fields={"status": [_("done or missed")]})
    if visit.target_date is None and status == SubjectVisit.Status.DONE:
        raise ApplicationError(_("This visit is counted from the first dose, which has not been recorded."),
                               code="awaiting_dosing")
    out_of_window_reason = out_of_window_reason.strip() if outside_window(visit, done_on) else ""
    if outside_window(visit, done_on) and not out_of_window_reason:
        assert done_on is not None and visit.window_start is not None and visit.window_end is not None
        raise ApplicationError(
            _("%(done)s is outside the visit window (%(start)s to %(end)s): give the reason to record the visit on that date.")
            % {"done": date_format(done_on, "SHORT_DATE_FORMAT"), "start": date_format(visit.window_start, "SHORT_DATE_FORMAT"),
               "end": date_format(visit.window_end, "SHORT_DATE_FORMAT")},
            code="out_of_window_reason_required",
            fields={"out_of_window_reason": [_("Required: the date is outside the visit window.")]})
    before = snapshot(visit)
    visit.status, visit.done_on, visit.out_of_window_reason = status, done_on, out_of_window_reason
    visit.save(update_fields=["status", "done_on", "out_of_window_reason", "updated_at"])
    audit_record(actor=actor, action="record", instance=visit, before=before, after=snapshot(visit), reason=reason,
                 hospital_id=visit.subject.site.hospital_id, trial_id=visit.subject.trial_id)
    casebook_void(actor=actor, subject=visit.subject, reason=reason)
    if outside_window(visit, done_on):
        raise_visit_deviation(actor=actor, visit=visit)
    return visit


def outside_window(visit: SubjectVisit, done_on: date | None) -> bool:
    """Whether a visit done on `done_on` falls outside its window (False for a missed visit or one not yet dated)."""
    return (done_on is not None and visit.window_start is not None and visit.window_end is not None
            and not (visit.window_start <= done_on <= visit.window_end))


def raise_visit_deviation(*, actor: User, visit: SubjectVisit) -> ProtocolDeviation | None:
    if ProtocolDeviation.objects.filter(subject_visit=visit, kind=ProtocolDeviation.Kind.VISIT_OUT_OF_WINDOW).exists():
        return None
    deviation = ProtocolDeviation.objects.create(
        subject_id=visit.subject_id, subject_visit=visit, kind=ProtocolDeviation.Kind.VISIT_OUT_OF_WINDOW, detected_at=timezone.now(),
        description=(f"Visit {visit.definition.code} done on {visit.done_on.isoformat()}, outside its window "
                     f"{visit.window_start.isoformat()} to {visit.window_end.isoformat()}. Reason given: {visit.out_of_window_reason}"),
        # The same facts apart, so the page says the sentence in the reader's language (ProtocolDeviation.text).
        details={"visit": visit.definition.code, "done_on": visit.done_on.isoformat(),
                 "window_start": visit.window_start.isoformat(), "window_end": visit.window_end.isoformat(),
                 "reason": visit.out_of_window_reason},
    )
    audit_record(actor=actor, action="create", instance=deviation, after=snapshot(deviation),
                 hospital_id=visit.subject.site.hospital_id, trial_id=visit.subject.trial_id)
    return deviation
