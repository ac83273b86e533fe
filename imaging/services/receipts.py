"""Deferred filing: a file acknowledged now, filed with others a moment later (`Prefer: respond-async`, RFC 7240).

A sender of one instance per request (a DICOMweb client, a PACS forward) waits only for what makes the platform
responsible for the file. The request is checked as every upload is (the patient is the sender's to add images to,
with a valid consent; the trial visit is the patient's and in scope), the bytes go into a receipt row encrypted with
the identity keys (IntakeSpool), and the rows commit: the answer is 202 with the receipt's URL.

The checks at receipt turn a sender away early; the checks that decide are the filing's, which are the ingest's own,
made again when the receipts are filed. So a check that passed at receipt is reused for the same user and patient
for INTAKE_RECEIVE_CHECK_SECONDS (a series sent an instance per request pays it once): a role or a consent withdrawn
in between refuses the receipts when they are filed, each with its code, never files them. Likewise the audit trail:
a receipt is not an event of its own; the filing's event (the ingest's, one per group, or `intake_refuse`) names every
receipt it settled, with the sender as actor.

A filer then claims the waiting receipts (up to INTAKE_FILING_BATCH), groups them by sender, patient, source and
visit, and files each group through the one ingest (imaging.services.ingest): one upload, one transaction and one
audit event per group, and each receipt's outcome (the upload's items for its file) written in that same
transaction. What the ingest pays once per upload (the scope and consent checks, the study and series rows, the audit
event, the commit, the pipeline's queueing) is paid once per group instead of once per file.

Nothing is lost between the two. A receipt is `received` until a filer claims it (`filing`), then `filed` or
`refused` in the transaction that files it, which also deletes its spooled file. A claim older than
INTAKE_FILING_LEASE_SECONDS (the worker died) is taken again, at most JOB_MAX_ATTEMPTS times; a file filed twice
is found a duplicate, never a second copy. Messages: a process sends one per INTAKE_FILING_DELAY_SECONDS, counted
down to the end of that window, so it claims every receipt the process committed in the window; a lost message is
covered by the beat's sweep (`imaging.file_receipts`, every minute).
"""
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging.models import IntakeReceipt, IntakeSpool, Upload
from imaging.services import ingest_sql
from imaging.services.ingest import IncomingFile, ingest, printable_name, tasks_run_eagerly, upload_check_patient, upload_check_visit
from registry import identity_crypto
from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.models import Patient, User

logger = logging.getLogger(__name__)

State = IntakeReceipt.State
# Between a receipt's id and its file's name in the names handed to the ingest, so each item finds its receipt.
_SEP = ":"


# (user pk, study ID) -> (until when, the patient): checks at receipt that passed, per process.
_checked: dict[tuple[int, str], tuple[float, Patient]] = {}
_CHECKED_MAX = 10_000


def receipts_patient(*, actor: User, study_id: str, find: Callable[[str], Patient]) -> Patient:
    """The patient a deferred upload is for: `find` (the caller's lookup, with its own refusals) and the consent
    check, or the answer they gave this user for this study ID less than INTAKE_RECEIVE_CHECK_SECONDS ago. Only
    passes are kept: a refusal is asked again next time."""
    key, now = (actor.pk, study_id), time.monotonic()
    hit = _checked.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    patient = find(study_id)
    upload_check_patient(actor=actor, patient=patient)
    if len(_checked) >= _CHECKED_MAX:
        _checked.clear()
    _checked[key] = (now + settings.INTAKE_RECEIVE_CHECK_SECONDS, patient)
    return patient


def receipts_checks_forget() -> None:
    """Drop the checks kept at receipt (tests, whose rolled-back rows give study IDs again)."""
    _checked.clear()


def receipts_receive(*, actor: User, patient: Patient, files: Iterable[IncomingFile], source: str,
                     trial_visit_id: int | None = None) -> list[IntakeReceipt]:
    """Commit one receipt per file, each holding its file encrypted; the filing follows (at once without a broker)."""
    patient = receipts_patient(actor=actor, study_id=patient.study_id, find=lambda _study_id: patient)
    visit = upload_check_visit(actor=actor, patient=patient, trial_visit_id=trial_visit_id)
    rows: list[IntakeReceipt] = []
    sealed: list[bytes] = []  # each file, encrypted
    for given in files:
        name = printable_name(given.name)
        size = given.size()
        if size > settings.INTAKE_SPOOL_MAX_BYTES:
            raise ApplicationError(
                _("%(file)s is larger than %(limit)d MB, the most a deferred upload takes: send it without "
                  "Prefer: respond-async.") % {"file": name, "limit": settings.INTAKE_SPOOL_MAX_BYTES // 2**20},
                code="too_large_to_defer")
        rows.append(IntakeReceipt(patient=patient, received_by=actor, source=source, trial_visit=visit, file=name, size=size))
        sealed.append(identity_crypto.encrypt_bytes(given.read()))
    if len(rows) == 1 and connection.vendor == "postgresql":  # the usual request: one statement
        _insert_with_spool(rows[0], sealed[0])
    else:
        with transaction.atomic(savepoint=False):  # all or none of the request's receipts
            for row in rows:
                ingest_sql.insert_one(row)  # written once as SQL (ingest_sql): the ORM's save costs more
            _insert_spools([(row.pk, data) for row, data in zip(rows, sealed, strict=True)])
    transaction.on_commit(_wake)  # at once, or after the caller's transaction (a test's)
    return rows  # as received: what became of each file is on its receipt once filed


# The spool row's INSERT, shared by the one-file statement and the batch's.
_SPOOL_INSERT = f'INSERT INTO "{IntakeSpool._meta.db_table}" (receipt_id, data)'


def _insert_spools(rows: list[tuple[int, bytes]]) -> None:
    """The files' rows (receipt id, encrypted file), in one statement. On PostgreSQL the bytes go in binary
    (_binary_cursor)."""
    sql = f"{_SPOOL_INSERT} VALUES (%s, {{}})"
    if connection.vendor != "postgresql":  # SQLite binds bytes as a blob; the statement, not bulk_create's ORM work
        with connection.cursor() as cursor:
            cursor.executemany(sql.format("%s"), rows)
        return
    with _binary_cursor() as cursor:
        cursor.executemany(sql.format("%b"), rows)


def _insert_with_spool(row: IntakeReceipt, data: bytes) -> None:
    """PostgreSQL, a request of one file (a DICOMweb client's, a forwarder's): the receipt and its file in one
    statement, which is atomic by itself and, outside a transaction, commits by itself. Django's transaction adds a
    BEGIN and a COMMIT, and psycopg's executemany a pipeline: eight waits on the server instead of one, which cost
    about 1 of 2.3 ms of CPU per request (docs/performance.md)."""
    insert, values = ingest_sql.insert_parts(row)
    sql = f"WITH receipt AS ({insert} RETURNING id) {_SPOOL_INSERT} SELECT id, %b FROM receipt RETURNING receipt_id"
    with _binary_cursor() as cursor:
        cursor.execute(sql, [*values, data])
        ingest_sql.adopted(row, cursor.fetchone()[0])


@contextmanager
def _binary_cursor() -> Iterator[Any]:
    """A cursor that binds on the server, so bytes go in binary (psycopg's %b): Django's cursors bind on the client,
    which writes a 75 KB file into the statement as 150 KB of hex for the server to parse, about 2 ms of a one-instance
    request (docs/performance.md). It is Django's wrapper around psycopg's cursor, so the statement is logged and
    counted as any other, and its errors are Django's."""
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    with connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw) as cursor:
        yield cursor


# Until when a message this process sent will claim what the process commits (time.time(): the worker's clock).
_covered_until = 0.0
# A message must not run before a receipt it is meant to cover has committed: allow for clocks this far apart.
_CLOCK_MARGIN = 0.25


def _wake() -> None:
    """After a receipt commits: file it now (no broker), or make sure a filing message is on its way."""
    global _covered_until
    if tasks_run_eagerly():
        receipts_file()
        return
    from imaging.tasks import file_receipts
    from registry.services.work import SEND_ERRORS

    now = time.time()
    if now < _covered_until - _CLOCK_MARGIN:
        return  # a message counted down to _covered_until will find this receipt
    delay = max(0.0, settings.INTAKE_FILING_DELAY_SECONDS)
    try:
        file_receipts.apply_async(countdown=delay)
    except SEND_ERRORS:
        logger.warning("receipt filing not queued (broker unreachable): the beat's sweep files it")
        return
    _covered_until = now + delay


def receipts_waiting() -> bool:
    """Receipts to file: waiting ones older than the filing delay (their message should have come), or stale claims."""
    now = timezone.now()
    late = now - timedelta(seconds=settings.INTAKE_FILING_DELAY_SECONDS + 5)
    stale = now - timedelta(seconds=settings.INTAKE_FILING_LEASE_SECONDS)
    return IntakeReceipt.objects.filter(Q(state=State.RECEIVED, received_at__lt=late)
                                        | Q(state=State.FILING, claimed_at__lt=stale)).exists()


# After a batch, a filer claims again only when at least this many receipts wait (or the batch was full): fewer have a
# message of their own to come (_wake), and chasing them a handful at a time while a sender keeps sending made an
# upload, with its per-upload work, per handful (on SQLite it doubled the CPU per instance); a sender faster than the
# filer leaves this many waiting at once and is filed without a pause.
_CLAIM_AGAIN_AT_LEAST = 8


def receipts_file() -> int:
    """File the waiting receipts: a claimed batch, and the next while enough wait (above); how many were settled."""
    _reclaim_stale()
    settled, at_least = 0, 1
    while batch := _claim(at_least):
        key = lambda r: (r.patient_id, r.received_by_id, r.source, r.trial_visit_id)  # noqa: E731
        for _group_key, group in groupby(sorted(batch, key=lambda r: (key(r), r.pk)), key=key):
            _file_group(list(group))
        settled += len(batch)
        at_least = 1 if len(batch) == settings.INTAKE_FILING_BATCH else _CLAIM_AGAIN_AT_LEAST
    return settled


def _claim(at_least: int = 1) -> list[IntakeReceipt]:
    """The oldest waiting receipts, now this filer's (a concurrent filer skips them: SKIP LOCKED on PostgreSQL), if
    there are `at_least` of them."""
    with transaction.atomic():
        ids = list(IntakeReceipt.objects.filter(state=State.RECEIVED).order_by("pk").select_for_update(skip_locked=True)
                   .values_list("pk", flat=True)[:settings.INTAKE_FILING_BATCH])
        if len(ids) < at_least:
            return []
        IntakeReceipt.objects.filter(pk__in=ids, state=State.RECEIVED).update(
            state=State.FILING, claimed_at=timezone.now(), attempts=F("attempts") + 1)
    return list(IntakeReceipt.objects.filter(pk__in=ids, state=State.FILING)
                .select_related("patient", "received_by", "trial_visit").order_by("pk"))


def _reclaim_stale() -> None:
    """Claims of a filer that died: back to waiting, or refused after JOB_MAX_ATTEMPTS claims."""
    stale = IntakeReceipt.objects.filter(
        state=State.FILING, claimed_at__lt=timezone.now() - timedelta(seconds=settings.INTAKE_FILING_LEASE_SECONDS))
    exhausted = list(stale.filter(attempts__gte=settings.JOB_MAX_ATTEMPTS).select_related("patient", "received_by"))
    for _group_key, group in groupby(sorted(exhausted, key=lambda r: (r.patient_id, r.received_by_id, r.pk)),
                                     key=lambda r: (r.patient_id, r.received_by_id)):
        _refuse(list(group), ApplicationError(_("Not filed: the filing failed %(n)d times.") % {"n": settings.JOB_MAX_ATTEMPTS},
                                              code="filing_failed"))
    stale.filter(attempts__lt=settings.JOB_MAX_ATTEMPTS).update(state=State.RECEIVED)


def _file_group(receipts: list[IntakeReceipt]) -> None:
    """One sender's files for one patient (and visit): one upload through the ingest, and each receipt's outcome."""
    first = receipts[0]
    with tempfile.TemporaryDirectory(prefix="nbnm-receipts-") as tmp:
        files, readable, in_memory = [], [], 0
        for r, blob in _spooled(receipts):
            try:  # bytes(): PostgreSQL reads a memoryview; a missing file is no ciphertext, refused as one
                data = identity_crypto.decrypt_bytes(bytes(blob or b""))
            except identity_crypto.IdentityKeyError:
                _refuse([r], ApplicationError(_("Not filed: the received file could not be read back from the spool."),
                                              code="spool_unreadable"))
                continue
            name = f"{r.pk}{_SEP}{r.file}"
            # Handed to the ingest in memory (a file create costs more than a small instance's parse), up to
            # INTAKE_SPOOL_MAX_BYTES for the group; beyond that on disk, so a group of large files is never held whole.
            if in_memory + len(data) <= settings.INTAKE_SPOOL_MAX_BYTES:
                files.append(IncomingFile(name, data=data))
                in_memory += len(data)
            else:
                path = Path(tmp) / str(r.pk)
                path.write_bytes(data)
                files.append(IncomingFile(name, path))
            readable.append(r)
        if not readable:
            return
        try:
            # The receipts are settled in the transaction that writes the upload's rows, which opens once the files are
            # read and de-identified: on SQLite a transaction takes the one write lock, which receiving requests wait for.
            ingest(actor=first.received_by, patient=first.patient, files=files, source=first.source,
                   trial_visit_id=first.trial_visit_id, recorded=lambda upload: _settle(readable, upload))
        except ApplicationError as exc:  # the patient left the sender's scope, or the consent was withdrawn, meanwhile
            _refuse(readable, exc)
        except Exception:
            # A bug or an unreachable database: the receipts stay claimed and are taken again after the lease.
            logger.exception("filing of receipts %s failed", [r.pk for r in readable])


def _spooled(receipts: list[IntakeReceipt]) -> Iterator[tuple[IntakeReceipt, bytes | None]]:
    """Each receipt with its encrypted file, read in queries of at most INTAKE_SPOOL_MAX_BYTES together (a claimed batch
    of large files is never in memory at once)."""
    chunk: list[IntakeReceipt] = []
    for r in [*receipts, None]:
        if chunk and (r is None or sum(c.size for c in chunk) + r.size > settings.INTAKE_SPOOL_MAX_BYTES):
            blobs = dict(IntakeSpool.objects.filter(pk__in=[c.pk for c in chunk]).values_list("pk", "data"))
            yield from ((c, blobs.get(c.pk)) for c in chunk)
            chunk = []
        if r is not None:
            chunk.append(r)


def _settle(receipts: list[IntakeReceipt], upload: Upload) -> None:
    """Each receipt filed with its items (the upload's items, named back to the files as sent), in the upload's
    transaction; the spool blobs are deleted once it commits."""
    by_receipt: dict[int, list[dict[str, Any]]] = {r.pk: [] for r in receipts}
    for item in upload.items:
        pk, _sep, name = item["file"].partition(_SEP)
        item.update(file=name, receipt=int(pk))
        by_receipt[int(pk)].append(item)
    Upload.objects.filter(pk=upload.pk).update(items=upload.items)
    now = timezone.now()
    for r in receipts:
        r.state, r.filed_at, r.upload, r.outcome = State.FILED, now, upload, by_receipt[r.pk]
    ingest_sql.update_many(IntakeReceipt, ("state", "filed_at", "upload", "outcome"),
                           ((r.pk, (r.state, r.filed_at, upload.pk, r.outcome)) for r in receipts))
    _delete_spools([r.pk for r in receipts])
    first = receipts[0]
    audit_record(actor=first.received_by, action="intake_file", instance=first, hospital_id=first.patient.hospital_id,
                 after={"receipts": [r.pk for r in receipts], "upload": upload.pk,
                        "received_first": first.received_at.isoformat(), "received_last": receipts[-1].received_at.isoformat()})


def _delete_spools(pks: list[int]) -> None:
    """The settled or refused receipts' files. On SQLite without zeroing their freed pages: the SQLite of Debian and of Python's
    wheels is built with SECURE_DELETE, which overwrites every freed page with zeros through the WAL, so deleting a
    group of 100 spooled 75 KB files wrote ~7.5 MB of zeros inside the filing's transaction (holding the one write
    lock that receiving requests wait for) and in the checkpoints after it: about a third of the transaction's CPU
    (docs/performance.md, "Filing, sixth pass"). The pages hold AES-GCM ciphertext under the identity keys, which
    protect the live identity rows of the same file as well: zeros add nothing the keys do not. PostgreSQL, as
    deployed, has no such setting (a deleted row's tuple stays until vacuum either way)."""
    spools = IntakeSpool.objects.filter(pk__in=pks)
    if connection.vendor != "sqlite":
        spools.delete()
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        (previous,) = cursor.fetchone()
        cursor.execute("PRAGMA secure_delete = 0")
        try:
            spools.delete()
        finally:
            cursor.execute(f"PRAGMA secure_delete = {int(previous)}")


def _refuse(receipts: list[IntakeReceipt], exc: ApplicationError) -> None:
    """Receipts that cannot be filed, with the reason, audited; their files go."""
    first = receipts[0]
    with transaction.atomic():
        IntakeReceipt.objects.filter(pk__in=[r.pk for r in receipts]).update(
            state=State.REFUSED, filed_at=timezone.now(), error_code=exc.code[:40], error_message=str(exc.message)[:500])
        _delete_spools([r.pk for r in receipts])
        audit_record(actor=first.received_by, action="intake_refuse", instance=first, hospital_id=first.patient.hospital_id,
                     after={"receipts": [r.pk for r in receipts], "code": exc.code})
