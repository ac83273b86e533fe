"""Writes of the DICOM network: registering a hospital's senders, filing what an association delivered, resolving the
unmatched queue. Every received instance is filed by the one ingest service (imaging.services.ingest)."""
import hashlib
import logging
import shutil
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pydicom
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging import modalities
from imaging.models import DicomNode, ImagingStudy, ScheduledExam, UnmatchedInstance, Upload
from imaging.services.ingest import IncomingFile, ingest, upload_check_patient, upload_check_visit
from nucmed.dosage import recommended_activity
from registry import identity_crypto
from registry.access import Action, HospitalRole, ensure_in_scope, reach
from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.models import Hospital, HospitalMembership, Patient, User

logger = logging.getLogger(__name__)

# Why an instance went to the unmatched queue instead of a patient's record.
UNMATCHED_CAUSES = {
    "unknown_patient": "The PatientID is not a study ID of this hospital and the accession number matches no scheduled exam.",
    "refused_by_ingest": "The patient was found but the intake refused the images (for example no valid consent).",
}
# The header fields the routing reads; the rest of a file is read by the ingest.
_ROUTING_TAGS = ["PatientID", "PatientName", "AccessionNumber", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
                 "Modality", "StudyDate"]


def dicom_node_register(*, actor: User, hospital: Hospital, ae_title: str, address: str | None = None,
                        description: str = "") -> DicomNode:
    """Register a scanner or PACS of `hospital` by its calling AE title, with the device account it acts through."""
    if not reach(actor, Action.ADD, DicomNode).covers(hospital_id=hospital.pk):
        raise ApplicationError(_("You cannot register DICOM senders for this hospital."), code="not_found")
    ae_title = ae_title.strip()
    if DicomNode.objects.filter(ae_title=ae_title).exists():
        message = _("The AE title %(ae_title)s is already registered.") % {"ae_title": ae_title}
        raise ApplicationError(message, code="ae_title_taken", fields={"ae_title": [message]})
    with transaction.atomic():
        # The node's own account: a coordinator of its hospital (the role that uploads), which cannot sign in.
        device = User(username=f"dicom-{uuid.uuid4().hex[:12]}", first_name="DICOM", last_name=ae_title[:16])
        device.set_unusable_password()
        device.save()
        HospitalMembership.objects.create(user=device, hospital=hospital, role=HospitalRole.COORDINATOR)
        node = DicomNode(hospital=hospital, ae_title=ae_title, address=address or None, description=description,
                         device_user=device, registered_by=actor)
        node.full_clean()
        node.save()
        ensure_in_scope(node, user=actor, action=Action.ADD)
        audit_record(actor=actor, action="register_dicom_node", instance=node, hospital_id=hospital.pk,
                     after={"ae_title": ae_title, "address": address or "", "device_user": device.username})
    return node


def dicom_node_set_active(*, actor: User, node: DicomNode, active: bool, reason: str) -> DicomNode:
    """Deactivate a sender (its associations are refused from now on; what it sent stays) or reactivate it, with the
    reason, audited. Data managers of the node's hospital (DicomNode's CHANGE role map)."""
    if not DicomNode.objects.restrict(actor, Action.CHANGE).filter(pk=node.pk).exists():
        raise ApplicationError(_("You cannot change DICOM senders of this hospital."), code="not_found")
    if not reason.strip():
        message = _("Say why the sender is deactivated or reactivated.")
        raise ApplicationError(message, code="reason_required", fields={"reason": [message]})
    with transaction.atomic():
        # Conditional update: a second click (or a concurrent one) changes nothing and says so.
        changed = DicomNode.objects.filter(pk=node.pk, active=not active).update(active=active)
        if not changed:
            message = _("The sender %(ae_title)s is already active.") if active else _("The sender %(ae_title)s is already inactive.")
            raise ApplicationError(message % {"ae_title": node.ae_title}, code="no_change")
        node.refresh_from_db()
        audit_record(actor=actor, action="activate_dicom_node" if active else "deactivate_dicom_node", instance=node,
                     hospital_id=node.hospital_id, before={"active": not active}, after={"active": active}, reason=reason.strip())
    return node


def dicom_node_for(*, calling_ae_title: str, address: str) -> DicomNode | None:
    """The active node an association comes from, or None (the association is then rejected)."""
    node = DicomNode.objects.select_related("hospital", "device_user").filter(ae_title=calling_ae_title.strip(), active=True).first()
    if node is None or (node.address and node.address != address):
        return None
    return node


@dataclass(frozen=True)
class Received:
    """One instance an association delivered, spooled to disk whole."""

    path: Path
    patient_id: str
    patient_name: str
    accession_number: str
    study_uid: str
    series_uid: str
    sop_uid: str
    modality: str
    study_date: date | None

    @classmethod
    def read(cls, path: Path) -> "Received":
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_ROUTING_TAGS, force=True)
        text = lambda k: str(ds.get(k, "") or "").strip()  # noqa: E731
        try:
            study_date = date(int(text("StudyDate")[:4]), int(text("StudyDate")[4:6]), int(text("StudyDate")[6:8]))
        except ValueError:
            study_date = None
        return cls(path=path, patient_id=text("PatientID"), patient_name=text("PatientName"), accession_number=text("AccessionNumber"),
                   study_uid=text("StudyInstanceUID"), series_uid=text("SeriesInstanceUID"), sop_uid=text("SOPInstanceUID"),
                   modality=text("Modality"), study_date=study_date)


@dataclass
class Filed:
    uploads: list[Upload]
    unmatched: int


def _exam_for(node: DicomNode, accession_number: str) -> ScheduledExam | None:
    if not accession_number:
        return None
    return ScheduledExam.objects.filter(accession_number=accession_number, patient__hospital=node.hospital).first()


def association_file(*, node: DicomNode, association: str, paths: list[Path], batch: int = 1000) -> Filed:
    """File what one association delivered: per patient through the ingest, as the node's device account; the rest to the
    unmatched queue. A patient is the sending hospital's patient whose study ID is the PatientID, or the patient of the
    scheduled exam whose accession number the images carry (that exam is then marked done)."""
    groups: dict[tuple[int, int | None], list[Received]] = defaultdict(list)
    unmatched: list[tuple[Received, str]] = []
    patients: dict[int, Patient] = {}
    for path in paths:
        received = Received.read(path)
        exam = _exam_for(node, received.accession_number)
        patient = exam.patient if exam else Patient.objects.filter(hospital=node.hospital, study_id=received.patient_id).first()
        if patient is None:
            unmatched.append((received, "unknown_patient"))
            continue
        patients[patient.pk] = patient
        groups[(patient.pk, exam.pk if exam else None)].append(received)
    uploads = []
    for (patient_id, exam_id), items in groups.items():
        exam = ScheduledExam.objects.get(pk=exam_id) if exam_id else None
        for start in range(0, len(items), batch):
            chunk = items[start:start + batch]
            try:
                upload = ingest(actor=node.device_user, patient=patients[patient_id], source=Upload.Source.DIMSE,
                                files=[IncomingFile(r.path.name, r.path) for r in chunk],
                                trial_visit_id=exam.trial_visit_id if exam else None)
            except ApplicationError as exc:
                logger.warning("association %s: ingest refused %s instances (%s)", association, len(chunk), exc.code)
                unmatched += [(r, "refused_by_ingest") for r in chunk]
                continue
            uploads.append(upload)
            if exam is not None:
                scheduled_exam_mark_done(actor=node.device_user, exam=exam, upload=upload)
    if unmatched:
        _keep_unmatched(node=node, association=association, items=unmatched)
    return Filed(uploads=uploads, unmatched=len(unmatched))


@transaction.atomic
def _keep_unmatched(*, node: DicomNode, association: str, items: list[tuple[Received, str]]) -> None:
    target = Path(settings.DICOM_UNMATCHED_DIR)
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    rows = []
    for received, cause in items:
        data = received.path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        kept = target / f"{uuid.uuid4().hex}.dcm"
        shutil.copyfile(received.path, kept)
        kept.chmod(0o600)
        rows.append(UnmatchedInstance(
            hospital=node.hospital, node=node, association=association, cause=cause,
            identity=identity_crypto.encrypt({"patient_id": received.patient_id, "patient_name": received.patient_name,
                                              "accession_number": received.accession_number}),
            study_uid=received.study_uid[:64], series_uid=received.series_uid[:64], sop_instance_uid=received.sop_uid[:64],
            modality=received.modality[:16], study_date=received.study_date, path=kept.name, size=len(data), sha256=sha))
    UnmatchedInstance.objects.bulk_create(rows)
    counts: dict[str, int] = defaultdict(int)
    for _received, cause in items:
        counts[cause] += 1
    # No identifier in the trail: the counts, the causes and the association (the request id of this event).
    audit_record(actor=node.device_user, action="dicom_unmatched", object_type="imaging.dicomnode", object_id=node.pk,
                 hospital_id=node.hospital_id, after={"instances": len(rows), "causes": dict(counts), "association": association})


def unmatched_identity(item: UnmatchedInstance) -> dict[str, str]:
    """What the sender called the patient: for the sending hospital's coordinators, who resolve the item."""
    return identity_crypto.decrypt(item.identity)


def _pending(actor: User, ids: list[int]) -> list[UnmatchedInstance]:
    items = list(UnmatchedInstance.objects.restrict(actor, Action.CHANGE)
                 .filter(pk__in=ids, state=UnmatchedInstance.State.PENDING).select_for_update())
    if not items or len(items) != len(set(ids)):
        raise ApplicationError(_("These received instances are not waiting in a queue you resolve."), code="not_found")
    return items


def _remove_files(items: list[UnmatchedInstance]) -> None:
    for item in items:
        (Path(settings.DICOM_UNMATCHED_DIR) / item.path).unlink(missing_ok=True)


def unmatched_assign(*, actor: User, ids: list[int], patient: Patient) -> Upload:
    """File received instances under `patient` (of the same hospital) through the ingest, as the resolving coordinator."""
    with transaction.atomic():
        items = _pending(actor, ids)
        if any(item.hospital_id != patient.hospital_id for item in items):
            raise ApplicationError(_("Received instances can only be assigned to a patient of the hospital that sent them."),
                                   code="other_hospital")
        upload = ingest(actor=actor, patient=patient, source=Upload.Source.DIMSE,
                        files=[IncomingFile(item.path, Path(settings.DICOM_UNMATCHED_DIR) / item.path) for item in items])
        now = timezone.now()
        UnmatchedInstance.objects.filter(pk__in=[i.pk for i in items]).update(
            state=UnmatchedInstance.State.ASSIGNED, upload=upload, resolved_by=actor, resolved_at=now)
        audit_record(actor=actor, action="assign_unmatched", instance=upload, hospital_id=patient.hospital_id,
                     after={"instances": len(items), "unmatched_ids": sorted(i.pk for i in items)})
        transaction.on_commit(lambda: _remove_files(items))
    return upload


@transaction.atomic
def unmatched_discard(*, actor: User, ids: list[int], reason: str) -> int:
    """Discard received instances with a reason: the rows stay (with the reason), the identified files are removed."""
    reason = reason.strip()
    if not reason:
        message = _("Say why these instances are discarded.")
        raise ApplicationError(message, code="reason_required", fields={"reason": [message]})
    items = _pending(actor, ids)
    UnmatchedInstance.objects.filter(pk__in=[i.pk for i in items]).update(
        state=UnmatchedInstance.State.DISCARDED, reason=reason[:200], resolved_by=actor, resolved_at=timezone.now())
    for item in items:
        audit_record(actor=actor, action="discard_unmatched", instance=item, hospital_id=item.hospital_id,
                     after={"state": UnmatchedInstance.State.DISCARDED}, reason=reason[:200])
    transaction.on_commit(lambda: _remove_files(items))
    return len(items)


@transaction.atomic
def scheduled_exam_mark_done(*, actor: User, exam: ScheduledExam, upload: Upload) -> None:
    """Images came back with the exam's accession number: the exam is done, linked to the study they formed."""
    study = ImagingStudy.objects.filter(series__instances__upload=upload).distinct().first()
    changed = ScheduledExam.objects.filter(pk=exam.pk, state=ScheduledExam.State.SCHEDULED).update(
        state=ScheduledExam.State.DONE, study=study)
    if changed:  # a conditional update: a second association with the same accession number finds it done already
        audit_record(actor=actor, action="exam_done", instance=exam, hospital_id=exam.patient.hospital_id,
                     after={"state": ScheduledExam.State.DONE, "upload": upload.pk, "study": study.pk if study else None})


def _last_weight(patient: Patient) -> float | None:
    """The child's weight at the last visit that recorded one: a trial dosing, or an imaging study's header."""
    from trials.models import DosingRecord

    dosed = DosingRecord.objects.filter(subject__patient=patient).order_by("-pk").values_list("weight_kg", flat=True).first()
    if dosed is not None:
        return float(dosed)
    return ImagingStudy.objects.filter(patient=patient, patient_weight_kg__isnull=False).order_by("-study_date", "-pk") \
        .values_list("patient_weight_kg", flat=True).first()


def _recommendation(patient: Patient, tracer: str, weight_kg: float | None, table: str) -> tuple[float | None, str]:
    if weight_kg is None:
        return None, _("No recommended activity: no weight is recorded for this child; enter one.")
    advice = recommended_activity(agent_code=tracer, weight_kg=weight_kg, table=table)
    if advice.activity_mbq is None:
        return None, str(advice.not_available_reason)[:200]
    return round(advice.activity_mbq, 1), f"{advice.table} {advice.table_version}: {advice.detail}"[:200]


@transaction.atomic
def scheduled_exam_schedule(*, actor: User, patient: Patient, scheduled_for: datetime, tracer: str, modality: str,
                            station_ae_title: str = "", trial_visit_id: int | None = None,
                            weight_kg: float | None = None) -> ScheduledExam:
    """Schedule an imaging exam: a Modality Worklist item with the activity recommended for this child's weight under the
    trial's dosage table (a trial visit) or the hospital's (registry follow-up imaging)."""
    upload_check_patient(actor=actor, patient=patient)
    visit = upload_check_visit(actor=actor, patient=patient, trial_visit_id=trial_visit_id)
    if modality not in modalities.EMISSION_MODALITIES:
        message = _("Schedule an emission exam (%(allowed)s).") % {"allowed": ", ".join(modalities.EMISSION_MODALITIES)}
        raise ApplicationError(message, code="invalid_modality", fields={"modality": [message]})
    weight = weight_kg if weight_kg is not None else _last_weight(patient)
    table = visit.subject.trial.dosage_table if visit is not None else patient.hospital.dosage_table
    try:
        recommended, note = _recommendation(patient, tracer, weight, table)
    except ValueError as exc:
        raise ApplicationError(_("No recommended activity: %(problem)s.") % {"problem": exc}, code="invalid_tracer",
                               fields={"tracer": [str(exc)]}) from exc
    exam = ScheduledExam(patient=patient, trial_visit=visit, scheduled_for=scheduled_for, tracer=tracer, modality=modality,
                         station_ae_title=station_ae_title.strip(), accession_number=f"NB{uuid.uuid4().int % 10**14:014d}",
                         weight_kg=weight, recommended_mbq=recommended, recommendation_note=note, scheduled_by=actor)
    exam.full_clean()
    exam.save()
    ensure_in_scope(exam, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="schedule_exam", instance=exam, hospital_id=patient.hospital_id,
                 after={"accession_number": exam.accession_number, "tracer": tracer, "modality": modality,
                        "scheduled_for": scheduled_for.isoformat(), "weight_kg": weight, "recommended_mbq": recommended,
                        "trial_visit": visit.pk if visit else None})
    return exam
