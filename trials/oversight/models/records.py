"""What oversight rows share: a generic reference to any clinical record, with its hospital and trial copied in.

Signatures and queries point at rows of any app (a registry patient, a trial subject's casebook, an adverse
event) through contenttypes. The record's hospital and trial are copied onto the row when it is created,
so the access rule filters these rows on their own columns (a generic foreign key cannot be joined).
"""
from typing import Any, ClassVar

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from registry.access import ScopedModel


class ClinicalRecordReference(ScopedModel):
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    hospital = models.ForeignKey("registry.Hospital", on_delete=models.PROTECT, related_name="+")
    # A plain column, not a foreign key: the record may be a registry row with no trial at all.
    trial_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)

    scope_hospital_path: ClassVar[str | None] = "hospital"
    scope_trial_path: ClassVar[str | None] = "trial_id"

    class Meta:
        abstract = True


def _follow(obj: Any, path: str | None) -> int | None:
    """The id at the end of a scope path ("subject__site__hospital", "patient__hospital", "pk") from one row."""
    if not path:
        return None
    if path == "pk":
        return obj.pk
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop, None)
        if obj is None or isinstance(obj, models.Manager):
            return None
    value = getattr(obj, f"{last}_id", None)
    if value is None:
        target = getattr(obj, last, None)
        value = None if target is None or isinstance(target, models.Manager) else getattr(target, "pk", target)
    return value


def record_hospital_and_trial(record: models.Model) -> tuple[int | None, int | None]:
    """Where a clinical record belongs, read through its own model's scope paths."""
    model = type(record)
    return _follow(record, getattr(model, "scope_hospital_path", None)), _follow(record, getattr(model, "scope_trial_path", None))
