"""Imaging on the worklist (registry/worklist_sources.py): studies the wrong-patient guard put on hold, for the
coordinators of the patient's hospital to review and release. The title names no patient: the registry study ID is
in `study_id`, which only users of the patient's hospital ever receive (coordinators are of that hospital)."""
from datetime import date

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging.models import ImagingStudy
from registry.access import Action, Rule, may
from registry.models import User
from registry.selectors import WorkItem
from registry.worklist_sources import register_worklist_source


@register_worklist_source("uploads_on_hold")
def uploads_on_hold(user: User, on: date) -> list[WorkItem]:
    if not may(user, Rule.REVIEW_UPLOADS):  # no query for users who review nothing (sponsors, readers, monitors)
        return []
    held = (ImagingStudy.objects.restrict(user, Action.CHANGE).filter(status=ImagingStudy.Status.ON_HOLD)
            .select_related("patient__hospital").order_by("created_at", "id"))
    held = held.restrict(user, Rule.REVIEW_UPLOADS)
    return [WorkItem("upload_on_hold", s.patient_id, s.patient.study_id, s.patient.hospital.code, timezone.localdate(s.created_at),
                     title=_("Upload on hold (possible wrong patient): study %(study)s of %(date)s, to review") % {
                         "study": s.pk, "date": s.study_date.isoformat() if s.study_date else "?"},
                     link=reverse("imaging-study-detail", args=[s.pk])) for s in held]
