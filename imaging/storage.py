"""Content-addressed storage of de-identified instances through Django's storage API.

Keys are derived from the SHA-256 of the bytes, so writing the same content twice is a no-op. On the
local filesystem the write skips the generic storage machinery (name de-duplication, a stat per call)
and lands atomically with a rename; any other backend (S3 via django-storages) goes through the API.
"""
import os
import secrets
import tempfile

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage


def key_for(sha256: str) -> str:
    return f"dicom/{sha256[:2]}/{sha256[2:4]}/{sha256}.dcm"


def put(data: bytes, sha256: str) -> str:
    key = key_for(sha256)
    if isinstance(default_storage, FileSystemStorage):  # LazyObject proxies isinstance to the real backend
        path = default_storage.path(key)
        if not os.path.exists(path):
            _write_new(path, data)
        return key
    if not default_storage.exists(key):
        key = default_storage.save(key, ContentFile(data))
    return key


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
    if default_storage.exists(key):
        default_storage.delete(key)
    return default_storage.save(key, ContentFile(data))
