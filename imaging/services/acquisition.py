"""How an exam was acquired: its protocol (standard, low dose, short scan) and the child's sedation.

Two writers, one rule: the dose step infers the protocol from what it measured (the administered activity against the
dosage table's recommendation for the child's weight, and the scan duration), but only while the protocol is still
unknown and never once somebody set it by hand; coordinators, investigators and data managers of the study's hospital
set it (and the sedation) by hand on the study page or through the API. Both are audited.
"""
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from imaging.models import ImagingStudy
from registry.access import Action, ensure_in_scope, require
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User

Protocol = ImagingStudy.AcquisitionProtocol

# An activity at most half the dosage table's recommendation for the child's weight is a reduced-activity protocol. A
# classification threshold, not a clinical number: the programme's low-dose protocol gives one sixth (issue 18) and a
# standard injection stays close to the table (dosage cards round to the calibrator); the pair finding uses the same
# ratio between series (imaging.lowdose.services.LOW_ACTIVITY_RATIO).
LOW_DOSE_MAX_FRACTION = 0.5
# The programme's short scan is a whole-body acquisition of three minutes (issue 18); one at most this long is short.
SHORT_SCAN_MAX_MS = 180_000.0


@dataclass(frozen=True)
class Inference:
    protocol: str
    basis: str  # what the protocol was inferred from, in words (English: stored in the audit trail)


@dataclass(frozen=True)
class Scan:
    """The PET acquisition as its images say: the whole duration (ms) and whether it covers the body (the trunk at least),
    without which a short duration says nothing about the protocol (one 2-minute bed over the chest is not a 2-minute
    whole-body scan)."""

    duration_ms: float | None
    whole_body: bool


def infer_protocol(*, activity_mbq: float | None, recommended_mbq: float | None, scan: Scan) -> Inference:
    """The protocol the measurements say, or UNKNOWN. A reduced activity wins over a short scan: the dose is what the
    protocol field is read for (the dose saved), and the programme's low-dose protocol shortened the scan as well."""
    fraction = activity_mbq / recommended_mbq if activity_mbq is not None and recommended_mbq else None
    if fraction is not None and fraction <= LOW_DOSE_MAX_FRACTION:
        return Inference(Protocol.LOW_DOSE, f"activity {activity_mbq:g} MBq is {fraction:.0%} of the recommended {recommended_mbq:g} MBq")
    if scan.duration_ms is not None and scan.whole_body and scan.duration_ms <= SHORT_SCAN_MAX_MS:
        return Inference(Protocol.SHORT_SCAN, f"whole-body scan of {scan.duration_ms / 1000:g} s (at most {SHORT_SCAN_MAX_MS / 1000:g} s)")
    if fraction is not None:
        return Inference(Protocol.STANDARD, f"activity {activity_mbq:g} MBq is {fraction:.0%} of the recommended {recommended_mbq:g} MBq"
                                            " and no short whole-body scan")
    return Inference(Protocol.UNKNOWN, "activity or recommendation not known, and no short whole-body scan")


def may_infer(study: ImagingStudy) -> bool:
    """Only a PET exam whose protocol is still unknown and was never set by hand."""
    return (study.modality_group == ImagingStudy.ModalityGroup.PET_CT and study.acquisition_protocol == Protocol.UNKNOWN
            and study.acquisition_protocol_source != ImagingStudy.ProtocolSource.MANUAL)


@transaction.atomic
def protocol_infer_store(*, study: ImagingStudy, inference: Inference, actor: User) -> bool:
    """Store an inferred protocol; a conditional update, so a protocol set by hand meanwhile is never replaced.
    Returns whether it was stored (and audited)."""
    if inference.protocol == Protocol.UNKNOWN:
        return False
    updated = (ImagingStudy.objects.filter(pk=study.pk, acquisition_protocol=Protocol.UNKNOWN)
               .exclude(acquisition_protocol_source=ImagingStudy.ProtocolSource.MANUAL)
               .update(acquisition_protocol=inference.protocol, acquisition_protocol_source=ImagingStudy.ProtocolSource.INFERRED))
    if not updated:
        return False
    audit_record(actor=actor, action="infer_protocol", instance=study, hospital_id=study.patient.hospital_id,
                 before={"acquisition_protocol": Protocol.UNKNOWN},
                 after={"acquisition_protocol": inference.protocol, "acquisition_protocol_source": "inferred", "basis": inference.basis})
    return True


def _check_choice(value: str, choices: type[ImagingStudy.AcquisitionProtocol] | type[ImagingStudy.Sedation], field: str) -> None:
    if value not in choices.values:
        message = _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)}
        raise ApplicationError(message, code="invalid", fields={field: [message]})


@transaction.atomic
def study_acquisition_update(*, actor: User, study: ImagingStudy, acquisition_protocol: str | None = None,
                             sedation: str | None = None, reason: str = "") -> ImagingStudy:
    """Set the exam's protocol and/or sedation by hand (a protocol set here is never replaced by the dose step)."""
    if acquisition_protocol is None and sedation is None:
        raise ApplicationError(_("Give the acquisition protocol, the sedation or both."), code="invalid")
    if acquisition_protocol is not None:
        _check_choice(acquisition_protocol, ImagingStudy.AcquisitionProtocol, "acquisition_protocol")
    if sedation is not None:
        _check_choice(sedation, ImagingStudy.Sedation, "sedation")
    study = ImagingStudy.objects.select_for_update().select_related("patient").get(pk=study.pk)
    require(actor, Action.CHANGE, study, _("Your role does not allow changing this exam."))
    before = snapshot(study)
    changed = []
    if acquisition_protocol is not None:
        study.acquisition_protocol = acquisition_protocol
        study.acquisition_protocol_source = ImagingStudy.ProtocolSource.MANUAL
        changed += ["acquisition_protocol", "acquisition_protocol_source"]
    if sedation is not None:
        study.sedation = sedation
        changed.append("sedation")
    if all(before[name] == getattr(study, name) for name in changed):
        return study  # nothing new: no write, no audit event
    study.save(update_fields=[*changed, "updated_at"])
    ensure_in_scope(study, user=actor, action=Action.CHANGE)
    audit_record(actor=actor, action="update_acquisition", instance=study, before=before, after=snapshot(study), reason=reason,
                 hospital_id=study.patient.hospital_id)
    return study
