"""The one ingest service behind every upload path (API multipart, DICOMweb STOW-RS, import_dicom).

Per file: size limit -> parse -> validate (modality, UIDs) -> wrong-patient guard -> de-identify ->
content-addressed storage -> index rows. The original identified bytes are never written to storage:
only the de-identified dataset is serialised and saved. Every file gets an outcome (accepted,
duplicate, conflict, quarantined, rejected with a reason); accepted files are kept even when others of
the same upload are refused. Rows are written in one transaction per upload, then the series pipeline
is queued on commit.
"""
import logging
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging import guard, modalities, zipsafe
from imaging.models import ImagingStudy, Instance, InstanceConflict, Series, Upload
from imaging.services.prepare import IncomingFile, Prepared, prepare_many
from registry.access import Action, ensure_in_scope
from registry.audit import audit_record
from registry.consent_rules import require_consent
from registry.errors import ApplicationError
from registry.models import Patient, User
from trials.models import SubjectVisit

logger = logging.getLogger(__name__)


def _limits() -> zipsafe.ZipLimits:
    return zipsafe.ZipLimits(settings.ZIP_MAX_ENTRIES, settings.ZIP_MAX_TOTAL_BYTES, settings.ZIP_MAX_RATIO)


def _expand(files: Iterable[IncomingFile], workdir: Path, items: list[dict[str, Any]]) -> Iterator[IncomingFile]:
    """Yield plain files, expanding zips; a refused zip becomes one rejected item naming why."""
    for n, incoming in enumerate(files):
        if incoming.name.lower().endswith(".zip") or (incoming.path.suffix != ".dcm" and zipsafe.is_zip(incoming.path, incoming.name)):
            target = workdir / f"zip{n}"
            target.mkdir()
            try:
                entries = zipsafe.expand(incoming.path, target, _limits())
            except zipsafe.ZipRejected as exc:
                items.append({"file": incoming.name, "outcome": "rejected", "code": exc.code, "reason": exc.reason})
                continue
            for name, path in entries:
                yield IncomingFile(f"{incoming.name}/{name}", path)
        else:
            yield incoming


def _recent_weight(patient: Patient, study_date: date | None, exclude_uid: str) -> float | None:
    if study_date is None:
        return None
    near = (ImagingStudy.objects.filter(patient=patient, patient_weight_kg__isnull=False, study_date__isnull=False)
            .exclude(study_uid=exclude_uid).order_by("-study_date").values_list("study_date", "patient_weight_kg"))
    for other_date, weight in near:
        if abs((other_date - study_date).days) <= 60:
            return weight
    return None


def upload_check_patient(*, actor: User, patient: Patient) -> None:
    """Refuse before reading a byte: the patient must be the uploader's to add data to, with a valid consent."""
    if not Patient.objects.restrict(actor, Action.ADD).filter(pk=patient.pk).exists():
        raise ApplicationError("You cannot upload images for this patient.", code="not_found")
    require_consent(patient, on=timezone.localdate(), action="image upload")


def upload_check_visit(*, actor: User, patient: Patient, trial_visit_id: int | None) -> SubjectVisit | None:
    """The trial visit the images belong to: one of this patient's visits, inside the uploader's scope.

    A visit that does not exist, is out of scope or is another patient's gets the same answer, so the
    error reveals nothing about visits the uploader cannot see.
    """
    if trial_visit_id is None:
        return None
    visit = (SubjectVisit.objects.restrict(actor, Action.VIEW)
             .filter(pk=trial_visit_id, subject__patient=patient).first())
    if visit is None:
        message = _("This trial visit is not one of this patient's visits that you can see.")
        raise ApplicationError(message, code="invalid_trial_visit", fields={"trial_visit_id": [message]})
    return visit


def ingest(*, actor: User, patient: Patient, files: Iterable[IncomingFile], source: str,
           trial_visit_id: int | None = None) -> Upload:
    upload_check_patient(actor=actor, patient=patient)
    # Before a byte is read or stored: a refused visit leaves nothing behind.
    visit = upload_check_visit(actor=actor, patient=patient, trial_visit_id=trial_visit_id)
    items: list[dict[str, Any]] = []
    accepted: list[Prepared] = []
    with tempfile.TemporaryDirectory(prefix="nbnm-ingest-") as tmp:
        plain = list(_expand(files, Path(tmp), items))
        for outcome in prepare_many(plain, study_id=patient.study_id):
            if isinstance(outcome, dict):
                items.append(outcome)
            else:
                accepted.append(outcome)
                items.append(outcome.item)
    return _record(actor=actor, patient=patient, source=source, trial_visit=visit, items=items, accepted=accepted)


@transaction.atomic
def _record(*, actor: User, patient: Patient, source: str, trial_visit: SubjectVisit | None, items: list[dict[str, Any]],
            accepted: list[Prepared]) -> Upload:
    upload = Upload.objects.create(patient=patient, uploaded_by=actor, source=source, trial_visit=trial_visit,
                                   files_received=len(items), bytes_received=sum(a.size for a in accepted))
    studies: dict[str, ImagingStudy] = {}
    for uid in sorted({a.study_uid for a in accepted}):
        group = [a for a in accepted if a.study_uid == uid]
        study, _created = ImagingStudy.objects.get_or_create(study_uid=uid, defaults={"patient": patient, "trial_visit": trial_visit})
        if study.patient_id != patient.pk:
            for a in group:
                a.item.update(outcome="rejected", code="study_of_another_patient",
                              reason="This study is already filed under another patient.")
            continue
        _update_study(study, group, patient)
        studies[uid] = study
    keep = [a for a in accepted if a.study_uid in studies]
    series = _series_rows(keep, studies)
    existing = {i.sop_instance_uid: i for i in Instance.objects.filter(sop_instance_uid__in=[a.sop_uid for a in keep])}
    new_rows, seen = [], set()
    for a in keep:
        a.item["sop_instance_uid"] = a.sop_uid
        prior = existing.get(a.sop_uid)
        if prior is not None or a.sop_uid in seen:
            if prior is not None and prior.sha256 != a.sha256:
                InstanceConflict.objects.create(instance=prior, storage_key=a.storage_key, size=a.size, sha256=a.sha256,
                                                upload=upload)
                a.item.update(outcome="conflict", code="uid_conflict",
                              reason="An instance with this UID is already stored with different content; kept aside for review.")
            else:
                a.item.update(outcome="duplicate", code="duplicate", reason="Already stored (identical).")
            continue
        seen.add(a.sop_uid)
        if a.quarantine:
            a.item.update(outcome="quarantined", code="quarantined", reason=a.quarantine)
        new_rows.append(Instance(series=series[a.series_uid], sop_instance_uid=a.sop_uid, sop_class_uid=a.sop_class_uid,
                                 instance_number=a.instance_number, storage_key=a.storage_key, size=a.size, sha256=a.sha256,
                                 quarantine_reason=a.quarantine, upload=upload, slice_position=a.slice_position,
                                 acquisition=a.acquisition))
    Instance.objects.bulk_create(new_rows, batch_size=1000)
    touched = {r.series_id for r in new_rows}
    for s in series.values():
        if s.pk in touched:
            s.number_of_instances = s.instances.count()
            s.pipeline_state = Series.PipelineState.HELD if s.study.status == ImagingStudy.Status.ON_HOLD else Series.PipelineState.PENDING
            s.pipeline_queued_at = timezone.now()
            s.pipeline_steps, s.pipeline_progress = {}, 0  # new instances: every step must see them
            s.save(update_fields=["number_of_instances", "pipeline_state", "pipeline_queued_at", "pipeline_steps",
                                  "pipeline_progress", "updated_at"])
    counts = {k: sum(1 for i in items if i["outcome"] == k) for k in ("accepted", "duplicate", "conflict", "quarantined", "rejected")}
    Upload.objects.filter(pk=upload.pk).update(
        accepted=counts["accepted"], duplicates=counts["duplicate"], conflicts=counts["conflict"],
        quarantined=counts["quarantined"], rejected=counts["rejected"], items=items, finished_at=timezone.now())
    upload.refresh_from_db()
    ensure_in_scope(upload, user=actor, action=Action.ADD)
    # One event per upload: the upload is the unit of change, its items say what became of each file.
    audit_record(actor=actor, action="ingest", instance=upload, hospital_id=patient.hospital_id,
                 after={**counts, "files": len(items), "studies": sorted(studies), "source": source,
                        "trial_visit": trial_visit.pk if trial_visit else None})
    queued = [s.pk for s in series.values() if s.pk in touched and s.pipeline_state == Series.PipelineState.PENDING]
    if queued:
        transaction.on_commit(lambda: _queue_pipelines(queued))
    logger.info("upload %s: %s", upload.pk, counts)
    return upload


def _update_study(study: ImagingStudy, group: list[Prepared], patient: Patient) -> None:
    first = group[0]
    study.study_date = study.study_date or first.study_date
    study.modality_group = modalities.modality_group({a.modality for a in group} | set(study.series.values_list("modality", flat=True)))
    study.tracer = study.tracer or next((a.tracer for a in group if a.tracer), "")
    weight = next((a.weight_kg for a in group if a.weight_kg), None)
    study.patient_weight_kg = study.patient_weight_kg or weight
    study.patient_size_m = study.patient_size_m or next((a.size_m for a in group if a.size_m), None)
    reasons = guard.differences(
        patient, sex=first.characteristics.get("sex"), birth_date=first.characteristics.get("birth_date"),
        age=first.characteristics.get("age"), study_date=study.study_date, weight_kg=weight,
        recent_weight_kg=_recent_weight(patient, study.study_date, study.study_uid))
    if reasons:
        study.status = ImagingStudy.Status.ON_HOLD
        study.hold_reasons = sorted(set(study.hold_reasons) | set(reasons))
    elif study.status == ImagingStudy.Status.RECEIVING:
        study.status = ImagingStudy.Status.READY
    study.save()


def _series_rows(accepted: list[Prepared], studies: dict[str, ImagingStudy]) -> dict[str, Series]:
    rows: dict[str, Series] = {s.series_uid: s for s in Series.objects.filter(series_uid__in={a.series_uid for a in accepted})
                               .select_related("study")}
    for a in accepted:
        if a.series_uid not in rows:
            rows[a.series_uid] = Series.objects.create(
                study=studies[a.study_uid], series_uid=a.series_uid, modality=a.modality, description=a.series_description,
                series_number=a.series_number, frame_of_reference_uid=a.frame_of_reference_uid, geometry=a.geometry)
    return rows


def _queue_pipelines(series_ids: list[int]) -> None:
    """Index each new or grown series here, then queue its chain (the analysis steps: SUV, dose, previews).

    The index step is cheap (one aggregate over the rows just written) and is part of the intake: an
    upload's answer comes back with its series indexed whatever the Celery set-up. The chain skips it as
    done. Should it fail here, the chain runs it again (a failed step is not done).
    """
    from imaging.pipeline import series_step_run
    from registry.services.work import work_send

    for series_id in series_ids:
        try:
            series_step_run(series_id=series_id, step="index")
        except Exception:  # the rows are committed; the queued chain indexes the series instead
            logger.exception("index step of series %s failed at ingest; left to the pipeline", series_id)
        work_send(Series, series_id)
