"""The end of an upload on the page: one summary per study (accepted, duplicates, quarantined, kept aside, and the study's
state in words, on hold included) and the files that were not filed in any study, with their reasons.

The page's script sends one request per file, so "an upload" as the coordinator sees it is several Upload rows; the
summary reads them together (`web-upload-summary?upload=1&upload=2`). It reads only restricted querysets, and the
upload's items, which hold no identifier (imaging.models.Upload).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from imaging.models import ImagingStudy, Instance, Upload
from nucmed.radiopharmaceuticals import CHOICES as TRACER_CHOICES
from registry.access import Action

if TYPE_CHECKING:
    from registry.access import UserLike

OUTCOMES = ("accepted", "duplicate", "quarantined", "conflict", "rejected")
TRACER_LABELS = dict(TRACER_CHOICES)


def upload_summary(*, user: UserLike, uploads: Iterable[Upload]) -> dict[str, Any]:
    """Per study reached by these uploads: counts by outcome and the reasons of what was quarantined or kept aside;
    then every file that reached no study (refused, or kept aside as another patient's or study's), with its reason.
    Three queries whatever the number of files."""
    uploads = list(uploads)
    items = [item for upload in uploads for item in upload.items]
    # New instances are the uploads'; a duplicate or a UID conflict names an instance stored before.
    earlier = {i["sop_instance_uid"] for i in items if i.get("sop_instance_uid") and i["outcome"] in ("duplicate", "conflict")}
    where = dict(Instance.objects.restrict(user, Action.VIEW)
                 .filter(Q(upload__in=uploads) | Q(sop_instance_uid__in=earlier))
                 .values_list("sop_instance_uid", "series__study_id"))
    studies = {s.pk: s for s in ImagingStudy.objects.restrict(user, Action.VIEW).filter(pk__in=set(where.values()))}
    rows: dict[int, dict[str, Any]] = {}
    not_filed: list[dict[str, Any]] = []
    for item in items:
        study = studies.get(where.get(item.get("sop_instance_uid", ""), 0))
        if study is None:
            not_filed.append(item)
            continue
        row = rows.setdefault(study.pk, {"study": study, "tracer_label": TRACER_LABELS.get(study.tracer, ""),
                                         "counts": dict.fromkeys(OUTCOMES, 0), "reasons": {}})
        row["counts"][item["outcome"]] += 1
        if item["outcome"] in ("quarantined", "conflict") and item.get("reason"):
            reasons = row["reasons"].setdefault(item["outcome"], [])
            if item["reason"] not in reasons:
                reasons.append(item["reason"])
    totals = {k: sum(1 for i in items if i["outcome"] == k) for k in OUTCOMES}
    ordered = sorted(rows.values(), key=lambda r: (r["study"].study_date is None, r["study"].study_date, r["study"].pk))
    return {"studies": ordered, "not_filed": not_filed, "totals": totals, "files": len(items),
            "on_hold": sum(1 for r in ordered if r["study"].status == ImagingStudy.Status.ON_HOLD)}
