"""The one ingest service behind every upload path (API multipart, DICOMweb STOW-RS, import_dicom).

Per file: size limit -> parse -> validate (modality, UIDs, the numbers the index reads) -> wrong-patient
guard -> de-identify -> staged storage -> index rows. The original identified bytes are never written to
storage: only the de-identified dataset is serialised and saved. Every file gets an outcome (accepted,
duplicate, conflict, quarantined, rejected with a code and a reason); accepted files are kept even when
others of the same upload are refused. Rows are written in one transaction per upload, which publishes
the staged files it keeps as its last step (imaging.storage explains why); the series pipeline is queued
on commit.

A file is placed by the whole hierarchy: its study must be this patient's, its series that study's, its
instance that series'. The platform's own derived series (Upload.Source.ENHANCE, which only the enhancement step
passes) is already de-identified: it is filed with its UIDs as written, so it joins its source's study. A file whose
UIDs are already filed elsewhere (another patient's study, another study's series, another series' instance) is a
conflict kept aside (IntakeConflict), never merged.
"""
import io
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging import guard, modalities, storage, zipsafe
from imaging.models import ImagingStudy, Instance, InstanceConflict, IntakeConflict, Series, Upload
from imaging.services import ingest_sql
from imaging.services.prepare import IncomingFile, Prepared, prepare_many
from registry.access import Action, ensure_in_scope
from registry.audit import audit_record
from registry.consent_rules import require_consent
from registry.errors import ApplicationError
from registry.models import Patient, User
from trials.models import SubjectVisit

logger = logging.getLogger(__name__)


def _limits(remaining: int) -> zipsafe.ZipLimits:
    return zipsafe.ZipLimits(settings.ZIP_MAX_ENTRIES, min(settings.ZIP_MAX_TOTAL_BYTES, remaining), settings.ZIP_MAX_RATIO)


def _expand(files: Iterable[IncomingFile], workdir: Callable[[], Path], items: list[dict[str, Any]]) -> Iterator[IncomingFile]:
    """Yield plain files, expanding zips; a refused zip or zip entry becomes one rejected item naming why.

    All the zips of one request share one budget of temporary disk (INGEST_TEMP_MAX_BYTES), so a request
    of many archives is bounded as a whole, not only archive by archive (ZIP_MAX_TOTAL_BYTES). `workdir` makes the
    temporary folder the first time an archive needs it: a request of plain files (one instance per request) has none.
    """
    remaining = settings.INGEST_TEMP_MAX_BYTES
    for n, given in enumerate(files):
        incoming = IncomingFile(printable_name(given.name), given.path, given.data)
        if incoming.name.lower().endswith(".zip") or _may_be_zip(incoming):
            target = workdir() / f"zip{n}"
            target.mkdir()
            archive = incoming.path
            if archive is None:  # an archive handed over in memory: zipsafe expands from a file
                archive = workdir() / f"zip{n}.zip"
                archive.write_bytes(incoming.data or b"")
            try:
                expanded = zipsafe.expand(archive, target, _limits(remaining))
            except zipsafe.ZipRejected as exc:
                zipsafe.cleanup(target)  # what a refused archive wrote before it was stopped
                items.append({"file": incoming.name, "outcome": "rejected", "code": exc.code, "reason": exc.reason})
                continue
            remaining -= expanded.bytes_written
            for name, code, reason in expanded.rejected:
                items.append({"file": f"{incoming.name}/{name}", "outcome": "rejected", "code": code, "reason": reason})
            for name, path in expanded.files:
                yield IncomingFile(f"{incoming.name}/{name}", path)
        else:
            yield incoming


def _may_be_zip(incoming: IncomingFile) -> bool:
    """Is this a zip archive (whatever its name)? A file on disk named .dcm is taken as DICOM without looking."""
    if incoming.data is not None:
        return zipfile.is_zipfile(io.BytesIO(incoming.data))  # what zipsafe.is_zip reads of a file, from memory
    return incoming.path is not None and incoming.path.suffix != ".dcm" and zipsafe.is_zip(incoming.path, incoming.name)


def printable_name(name: str) -> str:
    """A client's file name as the items may show it: control characters (a NUL, which PostgreSQL refuses in JSON and
    text) removed, at most 255 characters."""
    return "".join(c for c in name if c.isprintable())[:255] or "unnamed"


def _recent_weight(patient: Patient, study_date: date | None, exclude_uid: str) -> float | None:
    if study_date is None:
        return None
    near = (ImagingStudy.objects.filter(patient=patient, patient_weight_kg__isnull=False, study_date__isnull=False)
            .exclude(study_uid=exclude_uid).order_by("-study_date").values_list("study_date", "patient_weight_kg"))
    for other_date, weight in near:
        if abs((other_date - study_date).days) <= 60:
            return weight
    return None


def with_upload_scope(patients: QuerySet[Patient], *, actor: User) -> QuerySet[Patient]:
    """`patients`, each read with whether it is the actor's to add images to (restrict's ADD, in the same query).

    The API's upload views find the patient this way, so the scope costs no query of its own; may_upload reads the
    answer (named with the actor it was asked for).
    """
    allowed = Patient.objects.restrict(actor, Action.ADD).filter(pk=OuterRef("pk"))
    return patients.annotate(nbnm_upload_allowed_for=Case(When(Exists(allowed), then=Value(actor.pk)), default=None,
                                                           output_field=IntegerField()))


def may_upload(*, actor: User, patient: Patient) -> bool:
    """Whether the patient is the uploader's to add images to (one query), remembered on this patient object.

    A request that checked it to choose its answer (the API's 403) hands the same object to `ingest`, which then
    does not ask again: the scope is checked once per request. The object lives as long as the request. A patient
    read through `with_upload_scope` for this actor already carries the answer: no query at all.
    """
    if getattr(patient, "_nbnm_upload_allowed_for", None) == actor.pk:
        return True
    annotated = getattr(patient, "nbnm_upload_allowed_for", False)
    if annotated is not False:  # read through with_upload_scope: the actor's pk when allowed, None when not
        allowed = annotated == actor.pk
        if allowed or annotated is None:
            if allowed:
                patient._nbnm_upload_allowed_for = actor.pk  # type: ignore[attr-defined]
            return allowed
    allowed = Patient.objects.restrict(actor, Action.ADD).filter(pk=patient.pk).exists()
    if allowed:
        patient._nbnm_upload_allowed_for = actor.pk  # type: ignore[attr-defined]
    return allowed


def upload_check_patient(*, actor: User, patient: Patient) -> None:
    """Refuse before reading a byte: the patient must be the uploader's to add data to, with a valid consent."""
    if not may_upload(actor=actor, patient=patient):
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
           trial_visit_id: int | None = None, recorded: Callable[[Upload], None] | None = None) -> Upload:
    """`recorded`, when given, runs in the transaction that writes the upload's rows, once they are written: what the
    caller writes with them commits or rolls back with them (the receipts filer settles its receipts there). The files'
    reading and de-identification happen before that transaction, which holds no lock meanwhile."""
    upload_check_patient(actor=actor, patient=patient)
    # Before a byte is read or stored: a refused visit leaves nothing behind.
    visit = upload_check_visit(actor=actor, patient=patient, trial_visit_id=trial_visit_id)
    items: list[dict[str, Any]] = []
    accepted: list[Prepared] = []
    batch = storage.new_batch()
    try:
        with ExitStack() as stack:
            tmp: list[Path] = []

            def workdir() -> Path:
                if not tmp:
                    tmp.append(Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nbnm-ingest-"))))
                return tmp[0]

            plain = list(_expand(files, workdir, items))
            # Only the platform's own derived series (the enhancement step, which calls this service itself: no view
            # passes this source) is filed without a second de-identification, keeping its UIDs and so its study.
            derived = source == Upload.Source.ENHANCE
            for outcome in prepare_many(plain, study_id=patient.study_id, batch=batch, derived=derived):
                if isinstance(outcome, dict):
                    items.append(outcome)
                else:
                    accepted.append(outcome)
                    items.append(outcome.item)
        try:
            return _record(actor=actor, patient=patient, source=source, trial_visit=visit, items=items, accepted=accepted,
                           batch=batch, recorded=recorded)
        except IntegrityError:
            # A concurrent upload of the same files created a study, series or instance first (a double submit):
            # file against its rows once more, where this upload's copies become duplicates or conflicts.
            return _record(actor=actor, patient=patient, source=source, trial_visit=visit, items=items, accepted=accepted,
                           batch=batch, recorded=recorded)
    finally:
        storage.discard(batch)  # whatever was not published: refused files, duplicates, a rolled-back transaction's


@dataclass
class _Filed:
    """The rows already stored under the UIDs of an upload's files, and the new ones the upload itself places."""

    studies: dict[str, ImagingStudy]
    series: dict[str, Series]
    instances: dict[str, Instance]
    new_series_study: dict[str, str] = field(default_factory=dict)  # series UID -> study UID, for series this upload creates
    new_instance_series: dict[str, str] = field(default_factory=dict)  # SOP UID -> series UID, for instances it creates

    @classmethod
    def load(cls, accepted: list[Prepared]) -> "_Filed":
        # The series with their studies in one query; only studies that no filed series brought are read apart (a
        # file of a known series, the usual case of one instance per request, costs two queries here).
        series = ingest_sql.filed_series(a.series_uid for a in accepted)
        studies = {s.study.study_uid: s.study for s in series.values()}
        missing = {a.study_uid for a in accepted} - set(studies)
        if missing:
            studies |= ingest_sql.studies_by_uid(missing)
        return cls(studies=studies, series=series, instances=ingest_sql.instances_by_uid(a.sop_uid for a in accepted))

    def conflict(self, a: Prepared, patient: Patient) -> str | None:
        """Why the file cannot be filed under this patient's hierarchy (an IntakeConflict code), or None."""
        study = self.studies.get(a.study_uid)
        if study is not None and study.patient_id != patient.pk:
            return IntakeConflict.Code.STUDY_OF_ANOTHER_PATIENT
        series = self.series.get(a.series_uid)
        if series is not None:
            if study is None or series.study_id != study.pk:
                return IntakeConflict.Code.SERIES_OF_ANOTHER_STUDY
        elif self.new_series_study.setdefault(a.series_uid, a.study_uid) != a.study_uid:
            return IntakeConflict.Code.SERIES_OF_ANOTHER_STUDY
        instance = self.instances.get(a.sop_uid)
        if instance is not None:
            if series is None or instance.series_id != series.pk:
                return IntakeConflict.Code.INSTANCE_OF_ANOTHER_SERIES
        elif self.new_instance_series.setdefault(a.sop_uid, a.series_uid) != a.series_uid:
            return IntakeConflict.Code.INSTANCE_OF_ANOTHER_SERIES
        return None


CONFLICT_REASONS = {
    IntakeConflict.Code.STUDY_OF_ANOTHER_PATIENT: "This StudyInstanceUID is already filed under another patient; kept aside for review.",
    IntakeConflict.Code.SERIES_OF_ANOTHER_STUDY: "This SeriesInstanceUID is already filed under another study; kept aside for review.",
    IntakeConflict.Code.INSTANCE_OF_ANOTHER_SERIES: "This SOPInstanceUID is already filed under another series; kept aside for review.",
}


@transaction.atomic
def _record(*, actor: User, patient: Patient, source: str, trial_visit: SubjectVisit | None, items: list[dict[str, Any]],
            accepted: list[Prepared], batch: str, recorded: Callable[[Upload], None] | None = None) -> Upload:
    """File the accepted files and write the upload, in a fixed number of statements per kind of row.

    Every file's outcome is decided first (conflict, duplicate, new), so the upload row is inserted once with its
    counts and items, then the new instances and kept-aside conflicts in one bulk insert each, then one UPDATE per
    series touched (its count, its index, the pipeline queued after the settle delay) and one audit event.
    """
    for a in accepted:  # a second pass (after a concurrent upload won) starts from the files' own outcomes
        a.item.update(outcome="accepted", code="", reason="")
    filed = _Filed.load(accepted)
    keep, publish = [], []
    intake_conflicts: list[IntakeConflict] = []
    for a in accepted:
        code = filed.conflict(a, patient)
        if code is None:
            keep.append(a)
            continue
        intake_conflicts.append(IntakeConflict(file=a.item["file"][:255], code=code, study_uid=a.study_uid,
                                               series_uid=a.series_uid, sop_instance_uid=a.sop_uid,
                                               storage_key=a.storage_key, size=a.size, sha256=a.sha256))
        a.item.update(outcome="conflict", code=code, reason=CONFLICT_REASONS[code])
        publish.append(a)
    studies = _study_rows(keep, filed, patient, trial_visit)
    series = _series_rows(keep, filed, studies, patient)
    new_rows: list[Instance] = []
    instance_conflicts: list[InstanceConflict] = []
    seen: set[str] = set()
    for a in keep:
        a.item["sop_instance_uid"] = a.sop_uid
        prior = filed.instances.get(a.sop_uid)
        if prior is not None or a.sop_uid in seen:
            if prior is not None and prior.sha256 != a.sha256:
                instance_conflicts.append(InstanceConflict(instance=prior, storage_key=a.storage_key, size=a.size,
                                                           sha256=a.sha256))
                a.item.update(outcome="conflict", code="uid_conflict",
                              reason="An instance with this UID is already stored with different content; kept aside for review.")
                publish.append(a)
            else:
                a.item.update(outcome="duplicate", code="duplicate", reason="Already stored (identical).")
            continue
        seen.add(a.sop_uid)
        if a.quarantine:
            a.item.update(outcome="quarantined", code="quarantined", reason=a.quarantine)
        new_rows.append(Instance(series=series[a.series_uid], patient=patient, sop_instance_uid=a.sop_uid,
                                 sop_class_uid=a.sop_class_uid, instance_number=a.instance_number, storage_key=a.storage_key,
                                 size=a.size, sha256=a.sha256, quarantine_reason=a.quarantine,
                                 slice_position=a.slice_position, acquisition=a.acquisition))
        publish.append(a)
    counts = {k: sum(1 for i in items if i["outcome"] == k) for k in ("accepted", "duplicate", "conflict", "quarantined", "rejected")}
    upload = ingest_sql.insert_one(Upload(
        patient=patient, uploaded_by=actor, source=source, trial_visit=trial_visit, files_received=len(items),
        bytes_received=sum(a.size for a in accepted), accepted=counts["accepted"], duplicates=counts["duplicate"],
        conflicts=counts["conflict"], quarantined=counts["quarantined"], rejected=counts["rejected"], items=items,
        finished_at=timezone.now()))
    for row in (*intake_conflicts, *instance_conflicts, *new_rows):
        row.upload = upload
    for model, rows in ((IntakeConflict, intake_conflicts), (InstanceConflict, instance_conflicts)):
        if rows:  # rare (kept aside for review): the ORM's bulk insert
            model.objects.bulk_create(rows, batch_size=1000)
    ingest_sql.insert_many(new_rows)
    touched = {r.series_id for r in new_rows}
    send = [s.pk for s in series.values() if s.pk in touched and _series_filed(s)]
    # The re-check after the write, on the row as written (its patient is in memory: no re-read).
    ensure_in_scope(upload, user=actor, action=Action.ADD)
    # One event per upload: the upload is the unit of change, its items say what became of each file.
    audit_record(actor=actor, action="ingest", instance=upload, hospital_id=patient.hospital_id,
                 after={**counts, "files": len(items), "studies": sorted(studies), "source": source,
                        "trial_visit": trial_visit.pk if trial_visit else None})
    if recorded is not None:
        recorded(upload)
    # Last, once every row is written: a failure before this point leaves only staged files, which ingest removes.
    for a in publish:
        storage.promote(batch, a.sha256, a.data)
    # Where each file kept under this patient's hierarchy is stored (its study, series and class), for an answer that
    # names them (STOW-RS) without reading the rows back. Not a column: the upload's own object only.
    upload.locations = {a.sop_uid: (a.study_uid, a.series_uid, a.sop_class_uid)  # type: ignore[attr-defined]
                        for a in keep if a.item["outcome"] != "conflict"}
    if send:
        transaction.on_commit(lambda: _queue_pipelines(send))
    logger.info("upload %s: %s", upload.pk, counts)
    return upload


def tasks_run_eagerly() -> bool:
    from imaging.tasks import tasks_run_eagerly as eagerly

    return eagerly()


def settle_seconds() -> int:
    """How long a series must receive nothing before its analysis runs (IMAGING_PIPELINE_SETTLE_SECONDS).

    PACS close a study the same way ("no new image for N seconds"): one instance per request (STOW-RS, a
    PACS forward, C-STORE) would otherwise queue one analysis per instance. Without a broker (eager tasks) the
    countdown of a message cannot be honoured, so the analysis runs at once.
    """
    return 0 if tasks_run_eagerly() else max(0, settings.IMAGING_PIPELINE_SETTLE_SECONDS)


def _series_filed(s: Series) -> bool:
    """Update a series that gained instances in one statement: its count, its index (the pipeline's first step, done
    here from the rows just written) and its pipeline, pending until the series has been stable for the settle delay.

    True when a message must be sent for it; False when a message sent for an earlier instance is still on its way
    (the series was already pending and not yet due: that message sends itself on to the new due time,
    imaging.tasks.run_pipeline) or the study is on hold (its release queues it).
    """
    from imaging.pipeline import steps_with_index

    now = timezone.now()
    in_flight = (s.pipeline_state == Series.PipelineState.PENDING and s.pipeline_queued_at is not None
                 and s.pipeline_queued_at > now)
    held = s.study.status == ImagingStudy.Status.ON_HOLD
    number, geometry, result = _index_values(s)
    columns: dict[str, Any] = {"number_of_instances": number, "pipeline_queued_at": now + timedelta(seconds=settle_seconds()),
                               "pipeline_attempts": 0, "pipeline_lease_expires_at": None, "pipeline_error": "", "updated_at": now}
    if held:
        # New instances: every step must see them; the index step runs when the study is released, as before.
        columns |= {"pipeline_state": Series.PipelineState.HELD, "pipeline_steps": {}, "pipeline_progress": 0}
    else:
        steps, progress = steps_with_index(result, now)
        columns |= {"pipeline_state": Series.PipelineState.PENDING, "pipeline_steps": steps, "pipeline_progress": progress,
                    "geometry": geometry}
    ingest_sql.update_columns(Series, s.pk, columns)
    for name, value in columns.items():
        setattr(s, name, value)
    return not held and not in_flight


def _index_values(s: Series) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """imaging.pipeline.index_values (the index step's own), from the aggregate written once as SQL (ingest_sql);
    test_ingest_single pins that both give the same values."""
    stats = ingest_sql.series_index(s.pk)
    geometry = {**s.geometry, "instances": stats.published,
                "z_range": [stats.z_min, stats.z_max] if stats.z_min is not None else None,
                "acquisition_first": stats.first, "acquisition_last": stats.last}
    return stats.all, geometry, {"instances": stats.published}


def _study_rows(keep: list[Prepared], filed: _Filed, patient: Patient, trial_visit: SubjectVisit | None) -> dict[str, ImagingStudy]:
    """This patient's studies of the files kept, created when new and updated from their files."""
    studies: dict[str, ImagingStudy] = {}
    for uid in sorted({a.study_uid for a in keep}):
        study = filed.studies.get(uid)
        created = study is None
        if study is None:
            study = ImagingStudy.objects.create(study_uid=uid, patient=patient, trial_visit=trial_visit)
        _update_study(study, [a for a in keep if a.study_uid == uid], patient, filed, created=created)
        studies[uid] = study
    return studies


_STUDY_FIELDS = ("study_date", "modality_group", "tracer", "patient_weight_kg", "patient_size_m", "status", "hold_reasons")


def _update_study(study: ImagingStudy, group: list[Prepared], patient: Patient, filed: _Filed, *, created: bool) -> None:
    """The study's values from its files, and the wrong-patient guard; written only when something changed.

    A file of a series the study already has, with the study's recorded weight, changes nothing the study shows and
    was already compared (the guard's weight check ran when that weight was recorded): the common case of a series
    sent one instance per request costs no query here.
    """
    before = [getattr(study, name) for name in _STUDY_FIELDS]
    first = group[0]
    study.study_date = study.study_date or first.study_date
    if created or any(a.series_uid not in filed.series for a in group):
        study.modality_group = modalities.modality_group({a.modality for a in group}
                                                         | set(study.series.values_list("modality", flat=True)))
    study.tracer = study.tracer or next((a.tracer for a in group if a.tracer), "")
    weight = next((a.weight_kg for a in group if a.weight_kg), None)
    weight_checked = not created and weight is not None and weight == study.patient_weight_kg
    study.patient_weight_kg = study.patient_weight_kg or weight
    study.patient_size_m = study.patient_size_m or next((a.size_m for a in group if a.size_m), None)
    reasons = guard.differences(
        patient, sex=first.characteristics.get("sex"), birth_date=first.characteristics.get("birth_date"),
        age=first.characteristics.get("age"), study_date=study.study_date, weight_kg=None if weight_checked else weight,
        recent_weight_kg=None if weight_checked or not weight else _recent_weight(patient, study.study_date, study.study_uid))
    if reasons:
        study.status = ImagingStudy.Status.ON_HOLD
        study.hold_reasons = sorted(set(study.hold_reasons) | set(reasons))
    elif study.status == ImagingStudy.Status.RECEIVING:
        study.status = ImagingStudy.Status.READY
    if created or before != [getattr(study, name) for name in _STUDY_FIELDS]:
        study.save()


def _series_rows(keep: list[Prepared], filed: _Filed, studies: dict[str, ImagingStudy], patient: Patient) -> dict[str, Series]:
    """The series of the files kept (each already checked to be its study's), created when new."""
    rows: dict[str, Series] = {}
    for a in keep:
        if a.series_uid in rows:
            continue
        existing = filed.series.get(a.series_uid)
        if existing is not None:
            existing.study = studies[a.study_uid]  # the same row, as just updated (its status decides the pipeline's)
        rows[a.series_uid] = existing or Series.objects.create(
            study=studies[a.study_uid], patient=patient, series_uid=a.series_uid, modality=a.modality,
            description=a.series_description, series_number=a.series_number, frame_of_reference_uid=a.frame_of_reference_uid,
            geometry=a.geometry)
    return rows


def _queue_pipelines(series_ids: list[int]) -> None:
    """One message per series that has none on its way, counted down to the end of the settle delay.

    The index step is done in the upload's transaction (one aggregate over the rows just written), so the answer
    comes back with the series indexed whatever the Celery set-up; the queued chain runs the analysis steps.
    """
    from registry.services.work import work_send

    delay = settle_seconds()
    for series_id in series_ids:
        work_send(Series, series_id, countdown=delay or None)
