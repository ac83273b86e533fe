"""Imaging on the worklist (registry/worklist_sources.py): studies the wrong-patient guard put on hold, for the
coordinators of the patient's hospital to review and release (rank 40, after visits). The title names no patient: the
registry study ID is in `study_id`, which only users of the patient's hospital ever receive (coordinators are of that
hospital)."""
from datetime import date
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imaging.models import ImagingStudy
from registry.access import Action, Rule, may
from registry.models import User
from registry.worklist_sources import Listing, WorkItem, register_worklist_group


@register_worklist_group("upload_on_hold", gettext_lazy("Uploads on hold (possible wrong patient)"), rank=40)
def uploads_on_hold(user: User, on: date) -> Listing | None:
    if not may(user, Rule.REVIEW_UPLOADS):  # no query for users who review nothing (sponsors, readers, monitors)
        return None
    rows = (ImagingStudy.objects.restrict(user, Action.CHANGE).filter(status=ImagingStudy.Status.ON_HOLD)
            .restrict(user, Rule.REVIEW_UPLOADS).order_by("created_at", "id")
            .values("pk", "patient_id", "patient__study_id", "patient__hospital__code", "created_at", "study_date"))

    def item(r: dict[str, Any]) -> WorkItem:
        return WorkItem("upload_on_hold", r["patient_id"], r["patient__study_id"], r["patient__hospital__code"],
                        timezone.localdate(r["created_at"]),
                        title=_("Upload on hold (possible wrong patient): study %(study)s of %(date)s, to review") % {
                            "study": r["pk"], "date": r["study_date"].isoformat() if r["study_date"] else "?"},
                        link=reverse("imaging-study-detail", args=[r["pk"]]))

    return Listing(rows, item)
