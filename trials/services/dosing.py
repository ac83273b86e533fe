"""Dosing records: the computed checks (net activity, recommendation, deviation, effective dose) and the
protocol deviation a dose above the trial's threshold raises."""
from datetime import datetime
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from nucmed import decay, dosage, effective_dose
from nucmed.instants import elapsed_seconds
from nucmed.radiopharmaceuticals import BY_CODE, CATALOGUE_VERSION
from registry.access import Action, ensure_in_scope
from registry.audit import audit_record, snapshot
from registry.dates import age_years
from registry.errors import ApplicationError
from registry.models import User
from registry.services.common import apply_changes, require_reason, validate
from trials.models import DosingRecord, ProtocolDeviation, Subject, SubjectVisit
from trials.services.casebook import casebook_reason, casebook_void
from trials.services.visits import anchor_on_first_dose

ENTERED_FIELDS = frozenset({"visit", "lot_number", "calibrated_activity_mbq", "calibrated_at", "administered_activity_mbq",
                            "administered_at", "residual_activity_mbq", "residual_measured_at", "route", "weight_kg"})
MBQ = Decimal("0.001")
PERCENT = Decimal("0.01")
# The administered activity typed at the injection and the net activity computed from the syringe readings should
# agree; beyond this the dose is flagged (both numbers kept) so that someone checks the readings or the entry.
ENTERED_ACTIVITY_TOLERANCE_PERCENT = Decimal(5)
# A syringe reading this many half-lives from the injection is a wrong time, not a measurement: its decay correction
# would multiply or divide the activity by more than 2^10 (and, further out, overflow).
MAX_DECAY_HALF_LIVES = 10


def _dec(value: float, places: Decimal = MBQ) -> Decimal:
    return Decimal(str(value)).quantize(places)


def _fail(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid", fields={field: [message]})


def _check_entered(record: DosingRecord, subject: Subject, now: datetime) -> None:
    for name in ("calibrated_at", "administered_at", "residual_measured_at"):
        value = getattr(record, name)
        if value is not None and timezone.is_naive(value):
            raise _fail(name, _("Give the time with its time zone."))
    if record.administered_at > now:
        raise _fail("administered_at", _("The administration time is in the future."))
    if record.administered_at < subject.enrolled_at:
        raise _fail("administered_at", _("The administration is before the subject's enrolment."))
    if record.residual_measured_at is not None and record.residual_measured_at < record.administered_at:
        raise _fail("residual_measured_at", _("The residual is measured after the administration."))
    agent = BY_CODE[subject.trial.agent_code]
    for name in ("calibrated_at", "residual_measured_at"):
        value = getattr(record, name)
        if value is not None and abs(elapsed_seconds(value, record.administered_at)) > MAX_DECAY_HALF_LIVES * agent.half_life_s:
            raise _fail(name, _("This reading is more than %(n)s half-lives of %(agent)s from the administration: check its time.")
                        % {"n": MAX_DECAY_HALF_LIVES, "agent": subject.trial.get_agent_code_display()})
    for name in ("calibrated_activity_mbq", "administered_activity_mbq", "residual_activity_mbq"):
        if getattr(record, name) is None or getattr(record, name) < 0:
            raise _fail(name, _("An activity is a number of MBq, zero or more."))
    if record.weight_kg is None or record.weight_kg < Decimal("0.5"):
        raise _fail("weight_kg", _("The weight at dosing must be at least 0.5 kg."))
    if record.visit is not None and record.visit.subject_id != subject.pk:
        raise _fail("visit", _("This visit belongs to another subject."))


def _compare_entered_with_net(record: DosingRecord) -> None:
    """Keep both numbers; flag the dose when the entered activity is more than the tolerance away from the net one."""
    entered, net = record.administered_activity_mbq, record.net_activity_mbq
    if net > 0:
        record.entered_vs_net_percent = ((entered - net) / net * 100).quantize(PERCENT)
        record.entered_activity_mismatch = abs(record.entered_vs_net_percent) > ENTERED_ACTIVITY_TOLERANCE_PERCENT
    else:  # nothing left in the syringe by the readings: any entered activity disagrees
        record.entered_vs_net_percent = None
        record.entered_activity_mismatch = entered != 0


def _recommendation(subject: Subject, agent_code: str, weight_kg: float) -> tuple[dosage.DosageRecommendation, float, str]:
    """The recommendation and its activity from the trial's table, else from its declared fallback table (with a
    note saying so).

    FDG on the EANM card uses the acquisition mode of the site's scanner, else the trial's. A dose without a
    recommendation cannot be recorded: set-up refuses such trials, and this catches a trial set up before that rule.
    """
    trial = subject.trial
    acquisition = subject.site.fdg_acquisition or trial.fdg_acquisition
    primary = dosage.recommended_activity(agent_code=agent_code, weight_kg=weight_kg, table=trial.dosage_table, acquisition=acquisition)
    if primary.activity_mbq is not None:
        return primary, primary.activity_mbq, ""
    if trial.fallback_dosage_table:
        fallback = dosage.recommended_activity(agent_code=agent_code, weight_kg=weight_kg, table=trial.fallback_dosage_table,
                                               acquisition=acquisition)
        if fallback.activity_mbq is not None:
            return fallback, fallback.activity_mbq, f"fallback table: {primary.not_available_reason}; "
    message = _("No recommended activity for %(agent)s in this trial's dosage tables: a data manager declares a fallback "
                "table that has one before doses are recorded.") % {"agent": trial.get_agent_code_display()}
    raise ApplicationError(message, code="no_recommendation")


def compute(record: DosingRecord, subject: Subject) -> None:
    """Fill the computed fields from the entered ones and the trial's dosage table (reference sections 2, 3, 5)."""
    trial = subject.trial
    agent = BY_CODE[trial.agent_code]
    record.agent_code = agent.code
    record.catalogue_version = CATALOGUE_VERSION
    net = decay.net_administered_activity(
        calibrated_mbq=float(record.calibrated_activity_mbq), calibrated_at=record.calibrated_at,
        administered_at=record.administered_at, half_life_s=agent.half_life_s,
        residual_mbq=float(record.residual_activity_mbq or 0), residual_at=record.residual_measured_at,
    )
    record.net_activity_mbq = _dec(net)
    dosed_on = timezone.localdate(record.administered_at)
    # Completed years (what the ICRP age bands are read on) plus the fraction of the year since the last birthday.
    birth = subject.patient.birth_date
    completed = age_years(birth, dosed_on)
    age = completed + (dosed_on - (birth + relativedelta(years=completed))).days / 366
    record.age_years = _dec(age, Decimal("0.01"))

    _compare_entered_with_net(record)

    recommendation, activity, fallback_note = _recommendation(subject, agent.code, float(record.weight_kg))
    record.dosage_table, record.dosage_table_version = recommendation.table, recommendation.table_version
    record.dosage_table_is_fallback = bool(fallback_note)
    record.dosage_acquisition = recommendation.acquisition or ""
    unverified = recommendation.unverified
    # An arm may prescribe a share of the table (a low-dose arm): the recommendation is the arm's.
    share = (subject.arm.activity_percent if subject.arm_id else 100) / 100
    recommended = activity * share
    record.recommended_activity_mbq = _dec(recommended)
    record.deviation_percent = _dec(dosage.deviation_percent(net, recommended), PERCENT)
    note = fallback_note + recommendation.detail + (f"; arm {subject.arm.code} at {subject.arm.activity_percent} %" if share != 1 else "")
    record.dosage_note = note[:300]

    dose = effective_dose.radiopharmaceutical_effective_dose(agent_code=agent.code, activity_mbq=net, age_years=age)
    record.effective_dose_msv = None if dose.msv is None else _dec(dose.msv)
    record.effective_dose_coefficient = (None if dose.coefficient_msv_per_mbq is None
                                         else Decimal(str(dose.coefficient_msv_per_mbq)).quantize(Decimal("0.000001")))
    record.effective_dose_age_band = dose.age_band or ""
    record.effective_dose_table_version = dose.table_version
    record.reference_unverified = unverified or dose.unverified


def _raise_dose_deviation(*, actor: User, record: DosingRecord, subject: Subject) -> ProtocolDeviation | None:
    """At most one deviation per dose: re-saving a dose that stays above the threshold raises nothing new."""
    threshold = subject.trial.deviation_threshold_percent
    if record.deviation_percent is None or record.deviation_percent <= threshold:
        return None
    if ProtocolDeviation.objects.filter(dosing_record=record, kind=ProtocolDeviation.Kind.DOSE_ABOVE_THRESHOLD).exists():
        return None
    deviation = ProtocolDeviation.objects.create(
        subject=subject, dosing_record=record, kind=ProtocolDeviation.Kind.DOSE_ABOVE_THRESHOLD, detected_at=timezone.now(),
        description=(f"Net administered activity {record.net_activity_mbq} MBq is {record.deviation_percent} % above the "
                     f"recommended {record.recommended_activity_mbq} MBq ({record.dosage_table} {record.dosage_table_version}); "
                     f"the trial's threshold is +{threshold} %."),
        # The same facts apart, so the page says the sentence in the reader's language (ProtocolDeviation.text).
        details={"net_activity_mbq": str(record.net_activity_mbq), "deviation_percent": str(record.deviation_percent),
                 "recommended_activity_mbq": str(record.recommended_activity_mbq), "table": record.dosage_table,
                 "table_version": record.dosage_table_version, "threshold_percent": str(threshold)},
    )
    audit_record(actor=actor, action="create", instance=deviation, after=snapshot(deviation),
                 hospital_id=subject.site.hospital_id, trial_id=subject.trial_id)
    return deviation


def _finish(*, actor: User, record: DosingRecord, subject: Subject, action: str, before: dict[str, Any] | None,
            reason: str = "") -> DosingRecord:
    try:
        compute(record, subject)
    except ValueError as exc:  # nucmed refuses impossible inputs (e.g. residual above the syringe activity)
        raise ApplicationError(_("Cannot compute this dose: %(problem)s.") % {"problem": exc}, code="invalid") from exc
    validate(record, exclude=["subject", "recorded_by"])
    record.save()
    ensure_in_scope(record, user=actor, action=Action.ADD if before is None else Action.CHANGE)
    audit_record(actor=actor, action=action, instance=record, before=before, after=snapshot(record), reason=reason,
                 hospital_id=subject.site.hospital_id, trial_id=subject.trial_id)
    casebook_void(actor=actor, subject=subject, reason=reason)
    _raise_dose_deviation(actor=actor, record=record, subject=subject)
    first = DosingRecord.objects.filter(subject=subject).order_by("administered_at", "id").first()
    if first is not None:
        anchor_on_first_dose(actor=actor, subject=subject, first_dose_on=timezone.localdate(first.administered_at))
    return record


def _subject_for_write(actor: User, subject_id: int) -> Subject:
    subject = (Subject.objects.restrict(actor, Action.CHANGE).select_related("trial", "site", "patient", "arm")
               .filter(pk=subject_id).first())
    if subject is None:
        raise ApplicationError(_("This subject is not one you may record doses for."), code="out_of_scope")
    return subject


@transaction.atomic
def dosing_record_create(*, actor: User, subject: Subject, lot_number: str, calibrated_activity_mbq: Decimal,
                         calibrated_at: datetime, administered_activity_mbq: Decimal, administered_at: datetime,
                         weight_kg: Decimal, residual_activity_mbq: Decimal = Decimal(0),
                         residual_measured_at: datetime | None = None, route: str = DosingRecord.Route.INTRAVENOUS,
                         visit: SubjectVisit | None = None, now: datetime | None = None, reason: str = "") -> DosingRecord:
    """Record a dose; `reason` is needed only when the subject's casebook is signed (the signature is then voided)."""
    subject = _subject_for_write(actor, subject.pk)
    reason = casebook_reason(subject, reason)
    if subject.status != Subject.Status.ENROLLED:
        raise ApplicationError(_("Subject %(subject)s is %(status)s: no new doses.")
                               % {"subject": subject.subject_number, "status": subject.get_status_display().lower()},
                               code="subject_not_on_study")
    record = DosingRecord(
        subject=subject, visit=visit, lot_number=lot_number, calibrated_activity_mbq=calibrated_activity_mbq,
        calibrated_at=calibrated_at, administered_activity_mbq=administered_activity_mbq, administered_at=administered_at,
        residual_activity_mbq=residual_activity_mbq, residual_measured_at=residual_measured_at, route=route,
        weight_kg=weight_kg, recorded_by=actor,
    )
    _check_entered(record, subject, now or timezone.now())
    return _finish(actor=actor, record=record, subject=subject, action="create", before=None, reason=reason)


@transaction.atomic
def dosing_record_update(*, actor: User, record: DosingRecord, data: dict[str, Any], reason: str,
                         now: datetime | None = None) -> DosingRecord:
    """Correct a dose (with a reason); every computed value is recomputed and stays tied to the same deviation."""
    reason = require_reason(reason)
    record = DosingRecord.objects.select_for_update().get(pk=record.pk)
    subject = _subject_for_write(actor, record.subject_id)
    before = snapshot(record)
    apply_changes(record, data, allowed=ENTERED_FIELDS)
    _check_entered(record, subject, now or timezone.now())
    return _finish(actor=actor, record=record, subject=subject, action="update", before=before, reason=reason)


@transaction.atomic
def protocol_deviation_review(*, actor: User, deviation: ProtocolDeviation, note: str, reason: str = "") -> ProtocolDeviation:
    """Review a deviation; `reason` is needed only when the subject's casebook is signed (the signature is then voided)."""
    note = (note or "").strip()
    if not note:
        raise _fail("review_note", _("Say what the review found."))
    deviation = ProtocolDeviation.objects.restrict(actor, Action.CHANGE).select_for_update(of=("self",)).filter(pk=deviation.pk).first()
    if deviation is None:
        raise ApplicationError(_("This deviation is not one you may review."), code="out_of_scope")
    if deviation.status == ProtocolDeviation.Status.REVIEWED:
        raise ApplicationError(_("This deviation has already been reviewed."), code="already_reviewed")
    reason = casebook_reason(deviation.subject, reason)
    before = snapshot(deviation)
    deviation.status, deviation.review_note = ProtocolDeviation.Status.REVIEWED, note
    deviation.reviewed_by, deviation.reviewed_at = actor, timezone.now()
    deviation.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
    subject = deviation.subject
    audit_record(actor=actor, action="review", instance=deviation, before=before, after=snapshot(deviation), reason=reason,
                 hospital_id=subject.site.hospital_id, trial_id=subject.trial_id)
    casebook_void(actor=actor, subject=subject, reason=reason)
    return deviation

