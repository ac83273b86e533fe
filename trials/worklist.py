"""Trial tasks on the worklist (registry/worklist_sources.py): protocol deviations awaiting review, for users who may
review them (restrict(CHANGE)). Titles name the trial subject number, never the patient."""
from datetime import date

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action
from registry.models import User
from registry.selectors import WorkItem
from registry.worklist_sources import register_worklist_source
from trials.models import ProtocolDeviation


@register_worklist_source("protocol_deviations")
def deviations_to_review(user: User, on: date) -> list[WorkItem]:
    deviations = (ProtocolDeviation.objects.restrict(user, Action.CHANGE).filter(status=ProtocolDeviation.Status.OPEN)
                  .select_related("subject__site__hospital").order_by("detected_at", "id"))
    return [WorkItem("deviation_to_review", None, "", d.subject.site.hospital.code, timezone.localdate(d.detected_at),
                     title=_("Protocol deviation to review (%(kind)s): subject %(subject)s") % {
                         "kind": d.get_kind_display(), "subject": d.subject.subject_number},
                     link=reverse("protocol-deviation-detail", args=[d.pk])) for d in deviations]
