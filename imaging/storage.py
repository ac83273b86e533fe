"""Content-addressed storage of de-identified instances through Django's storage API.

Keys are derived from the SHA-256 of the bytes, so writing the same content twice is a no-op. On the
local filesystem the write skips the generic storage machinery (name de-duplication, a stat per call)
and lands atomically with a rename; any other backend (S3 via django-storages) goes through the API.

An upload writes its files first under a staging prefix of its own (``incoming/<batch>/``) and publishes
them under their content address (``dicom/..``) only as the last step of the transaction that writes
their rows (``promote``); whatever is still staged afterwards is removed (``discard``). Why not write to
the content address and delete on rollback: a content-addressed file may be shared with a concurrent
upload of the same bytes, so a request can never safely delete one; the staged files are its alone.
Django has no rollback hook, and publishing on commit (``on_commit``) would let rows exist for a moment
(or, after a crash, forever) without their file. What is left is a content-addressed file with no row when
the commit itself fails after the publication, or an enclosing transaction rolls back: harmless, and
listed and removed by ``manage.py imaging_orphans``.

On the local filesystem an upload may keep a file's bytes in memory instead of staging them (``stages_in_memory``;
the ingest does, up to a budget): ``promote`` is then handed the bytes and writes them once, at their content address,
at the same step. A staged file cost a create in the staging folder and a rename (0.2-0.5 ms of CPU on this disk per
file, docs/performance.md "Filing, sixth pass"), and a refused or duplicate file kept in memory is never written.

On S3 (STORAGE_BACKEND=s3, django-storages) the same steps take one request each where the generic storage API would
take several: ``stage`` is one PUT, ``promote`` a server-side copy (the bytes never come back through the app),
``discard`` one batch delete of the prefix, ``walk`` one paginated listing, and ``chunks`` streams an object's body as
it arrives (WADO-RS retrieval) instead of spooling the whole object first. Nothing outside this module needs a local
path: every read goes through ``read``/``chunks``/``open_file``, every write through ``stage``/``promote``/``overwrite``.
"""
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage


def key_for(sha256: str) -> str:
    return f"dicom/{sha256[:2]}/{sha256[2:4]}/{sha256}.dcm"


STAGING = "incoming"
CONTENT = "dicom"


def new_batch() -> str:
    return secrets.token_hex(12)


def staged_key(batch: str, sha256: str) -> str:
    return f"{STAGING}/{batch}/{sha256}.dcm"


def _local() -> bool:
    return isinstance(default_storage, FileSystemStorage)  # LazyObject proxies isinstance to the real backend


def _s3() -> Any | None:
    """The S3Storage behind default_storage, or None (another backend, or the `s3` extra not installed)."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:
        return None
    return default_storage if isinstance(default_storage, S3Storage) else None


def _s3_key(s3: Any, key: str) -> str:
    """The object key of a storage name (the storage's S3_PREFIX location in front)."""
    from storages.utils import clean_name

    return str(s3._normalize_name(clean_name(key)))


def _missing(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    return response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404 or \
        response.get("Error", {}).get("Code") in ("404", "NoSuchKey")


def stage(data: bytes, sha256: str, batch: str) -> str:
    """Write `data` under the batch's private staging key (no database: runs in the ingest's worker processes)."""
    key = staged_key(batch, sha256)
    if _local():
        path = default_storage.path(key)
        if not os.path.exists(path):
            _write_new(path, data)
        return key
    if _s3() is not None:  # the batch's own key: one PUT, no existence check first
        default_storage.save(key, ContentFile(data))
        return key
    if not default_storage.exists(key):
        default_storage.save(key, ContentFile(data))
    return key


def stages_in_memory() -> bool:
    """Whether an upload may keep its files' bytes in memory until it publishes them (``promote(..., data=)``): on the
    local filesystem, where publishing them is one local write. Elsewhere (S3) a file is staged and copied server-side,
    so the write inside the rows' transaction stays a copy within the store."""
    return _local()


def promote(batch: str, sha256: str, data: bytes | None = None) -> str:
    """Publish a staged file under its content address (idempotent: a file already there has these bytes); `data`: its
    bytes, for a file kept in memory rather than staged (only where ``stages_in_memory()``), written there now."""
    source, key = staged_key(batch, sha256), key_for(sha256)
    if data is not None:
        if not _local():
            raise ValueError("a file kept in memory is published on the local filesystem only")
        path = default_storage.path(key)
        if not os.path.exists(path):
            _write_new(path, data)
        return key
    if _local():
        staged, final = default_storage.path(source), default_storage.path(key)
        if os.path.exists(final):
            return key
        try:
            os.replace(staged, final)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(staged, final)
        return key
    s3 = _s3()
    if s3 is not None:  # a server-side copy: one request, the bytes stay in the store
        from botocore.exceptions import ClientError

        try:
            s3.connection.meta.client.copy_object(Bucket=s3.bucket_name, Key=_s3_key(s3, key),
                                                  CopySource={"Bucket": s3.bucket_name, "Key": _s3_key(s3, source)})
        except ClientError as error:
            if not (_missing(error) and default_storage.exists(key)):  # staged file gone: published by an earlier try
                raise
        return key
    if not default_storage.exists(key):
        with default_storage.open(source, "rb") as fh:
            default_storage.save(key, ContentFile(fh.read()))
    return key


def discard(batch: str) -> None:
    """Remove whatever the batch still has staged (files refused, duplicates, or a rolled-back transaction's)."""
    folder = f"{STAGING}/{batch}"
    if _local():
        shutil.rmtree(default_storage.path(folder), ignore_errors=True)
        return
    s3 = _s3()
    if s3 is not None:  # one listing and one batch delete (up to 1,000 keys a request)
        s3.bucket.objects.filter(Prefix=_s3_key(s3, folder) + "/").delete()
        return
    for name in default_storage.listdir(folder)[1]:
        default_storage.delete(f"{folder}/{name}")


def exists(key: str) -> bool:
    return default_storage.exists(key)


def walk(prefix: str) -> Iterator[str]:
    """Every file key under `prefix` (for the orphan check)."""
    if _local():
        root = default_storage.path(prefix)
        for folder, _dirs, files in os.walk(root):
            for name in files:
                yield os.path.relpath(os.path.join(folder, name), default_storage.path("")).replace(os.sep, "/")
        return
    s3 = _s3()
    if s3 is not None:  # one paginated listing of the prefix, not a request per folder
        root = _s3_key(s3, "")
        root = f"{root.rstrip('/')}/" if root else ""
        for obj in s3.bucket.objects.filter(Prefix=_s3_key(s3, prefix).rstrip("/") + "/"):
            yield obj.key[len(root):]
        return
    if not default_storage.exists(prefix):
        return
    dirs, files = default_storage.listdir(prefix)
    yield from (f"{prefix}/{name}" for name in files)
    for name in dirs:
        yield from walk(f"{prefix}/{name}")


def modified(key: str) -> datetime:
    return default_storage.get_modified_time(key)


def delete(key: str) -> None:
    default_storage.delete(key)


def _write_new(path: str, data: bytes) -> None:
    """Write `data` to `path` atomically (a temporary file beside it, then a rename): a reader never sees half
    a file, a concurrent writer of the same key writes the same bytes. The folder is made only when missing."""
    tmp = f"{path}.{secrets.token_hex(8)}.part"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.fchmod(fd, 0o644)  # whatever the umask, as the storage's own files
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)


def overwrite(key: str, data: bytes) -> str:
    """Write derived data (previews, cached volumes) under a fixed key, replacing what was there."""
    if isinstance(default_storage, FileSystemStorage):
        path = default_storage.path(key)
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return key
    if not getattr(default_storage, "file_overwrite", False) and default_storage.exists(key):
        default_storage.delete(key)
    return default_storage.save(key, ContentFile(data))


def read(key: str) -> bytes:
    """A stored file's bytes (one instance, a cached volume, a preview): never a local path outside this module."""
    if _local():
        with open(default_storage.path(key), "rb") as fh:
            return fh.read()
    with default_storage.open(key, "rb") as fh:
        return bytes(fh.read())


def chunks(key: str, size: int = 1 << 20) -> Iterator[bytes]:
    """A stored file's bytes in chunks of at most `size`, as they arrive from the store: a series is retrieved without
    holding more than a chunk in memory. FileNotFoundError when it is missing (raised at the first chunk)."""
    s3 = _s3()
    if s3 is not None:
        from botocore.exceptions import ClientError

        try:
            body = s3.bucket.Object(_s3_key(s3, key)).get()["Body"]
        except ClientError as error:
            if _missing(error):
                raise FileNotFoundError(key) from None
            raise
        try:
            yield from body.iter_chunks(size)
        finally:
            body.close()
        return
    with (open(default_storage.path(key), "rb") if _local() else default_storage.open(key, "rb")) as fh:
        while chunk := fh.read(size):
            yield chunk


def read_if_present(key: str) -> bytes | None:
    """A stored file's bytes, or None when there is no such file (a cache blob not written yet), on any backend."""
    try:
        return read(key)
    except FileNotFoundError:
        return None
    except Exception as error:  # S3: botocore's ClientError with a 404
        if _missing(error):
            return None
        raise
