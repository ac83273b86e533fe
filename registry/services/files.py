"""The one way a stored clinical file leaves the platform: checked by the caller's service, recorded here.

Each download service (consent scans and forms, protocol documents) first asks registry.access whether the actor may
read the file, then calls file_download(), which refuses a row without its file and appends the audit event naming
which file left, with its size and SHA-256: enough to prove later which bytes were sent, and nothing of the name the
file was uploaded with.
"""
import hashlib

from django.db import models
from django.db.models.fields.files import FieldFile

from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.models import User


def _size_and_sha256(file: FieldFile) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with file.storage.open(file.name, "rb") as stream:
        for chunk in stream.chunks():
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def file_download(*, actor: User, instance: models.Model, field: str, action: str, missing: str,
                  hospital_id: int | None = None, trial_id: int | None = None) -> FieldFile:
    """The file in `instance.<field>`, after appending the download to the audit trail (in the caller's transaction).

    `missing` is the message when the row has no file, or its file is gone from storage (code no_file): the caller's
    view answers 404 either way, as for a record out of scope.
    """
    file: FieldFile = getattr(instance, field)
    if not file:
        raise ApplicationError(missing, code="no_file")
    try:
        size, sha256 = _size_and_sha256(file)
    except FileNotFoundError:
        raise ApplicationError(missing, code="no_file") from None
    audit_record(actor=actor, action=action, instance=instance, hospital_id=hospital_id, trial_id=trial_id,
                 after={"file": field, "size": size, "sha256": sha256})
    return file
