"""Storage names of uploaded clinical files: generated, never the name the client sent.

A consent scan uploaded as "Li Xiaohong signed.pdf" would otherwise keep that name in storage, in the row, in the
audit trail's before/after JSON and in every export of them. Each FileField in the apps names its files with
GeneratedName instead: its folder, a random UUID and a lower-cased suffix kept only when it is on the field's allow-list
(`consent/signatures/3f2c...e1.pdf`). The suffix is all that is kept of the uploaded name, so downloads can still send
the right content type. Imaging stores DICOM under content-addressed names of its own (imaging/storage.py).

This module imports no model, so models, the audit trail and migrations can all use it.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from django.core.files.storage import Storage
from django.db import models, transaction
from django.utils.deconstruct import deconstructible

SCAN_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
PDF_SUFFIXES = (".pdf",)
DOCUMENT_SUFFIXES = (".pdf", ".docx", ".odt")

# What GeneratedName writes: folder, 32 hex digits, optional short lower-case suffix.
_GENERATED = re.compile(r"^(?:[a-z0-9_-]+/)+[0-9a-f]{32}(?:\.[a-z0-9]{1,5})?$")


def safe_suffix(filename: str, allowed: Iterable[str]) -> str:
    """The uploaded name's suffix, lower-cased, if it is on the allow-list; otherwise none."""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    return suffix if suffix in frozenset(allowed) else ""


def generated_name(folder: str, filename: str, allowed: Iterable[str]) -> str:
    return f"{folder.strip('/')}/{uuid.uuid4().hex}{safe_suffix(filename, allowed)}"


def is_generated(name: str) -> bool:
    """Whether a stored name is one GeneratedName wrote (and so carries nothing of the uploaded name)."""
    return bool(_GENERATED.match(name))


@deconstructible
class GeneratedName:
    """A FileField's upload_to: `<folder>/<uuid4 hex><allowed suffix>`, whatever the client called the file."""

    def __init__(self, folder: str, suffixes: Iterable[str]) -> None:
        self.folder = folder
        self.suffixes = tuple(suffixes)

    def __call__(self, instance: models.Model, filename: str) -> str:
        return generated_name(self.folder, filename, self.suffixes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GeneratedName) and (self.folder, self.suffixes) == (other.folder, other.suffixes)

    def __hash__(self) -> int:
        return hash((self.folder, self.suffixes))


def rename_stored_files(model: type[models.Model], field_name: str) -> int:
    """Give every stored file of `model.field_name` whose name is not generated a generated one (a data migration).

    The file is copied under the new name and the row updated; the old file is deleted only once the migration's
    transaction commits, so a failed migration leaves every row pointing at a file that exists. A row whose file is
    already missing gets a generated name too: its old name is the identifier to remove, and the file was lost before.
    Returns how many rows were renamed. Audit events keep the names they recorded: the trail is append-only.
    """
    field: Any = model._meta.get_field(field_name)
    storage: Storage = field.storage
    upload_to: GeneratedName = field.upload_to
    renamed = 0
    # Read whole before updating: SQLite gives no isolation between a cursor still open on a table and writes to it.
    rows = list(model._default_manager.exclude(**{field_name: ""}).values_list("pk", field_name))
    for pk, name in rows:
        if not name or is_generated(name):
            continue
        new = generated_name(upload_to.folder, name, upload_to.suffixes)
        if storage.exists(name):
            with storage.open(name, "rb") as stream:
                new = storage.save(new, stream)
            transaction.on_commit(lambda old=name: storage.delete(old))
        model._default_manager.filter(pk=pk).update(**{field_name: new})
        renamed += 1
    return renamed
