"""Trial tasks on the worklist (registry/worklist_sources.py): protocol deviations awaiting review, for users who may
review them (restrict(CHANGE)). Titles name the trial subject number, never the patient."""
from datetime import date
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry.access import Action
from registry.models import User
from registry.worklist_sources import Listing, WorkItem, register_worklist_group
from trials.models import ProtocolDeviation


@register_worklist_group("deviation_to_review", gettext_lazy("Protocol deviations to review"), rank=60)
def deviations_to_review(user: User, on: date) -> Listing:
    rows = (ProtocolDeviation.objects.restrict(user, Action.CHANGE).filter(status=ProtocolDeviation.Status.OPEN)
            .order_by("detected_at", "id")
            .values("pk", "kind", "detected_at", "subject__subject_number", "subject__site__hospital__code"))
    kinds = dict(ProtocolDeviation.Kind.choices)

    def item(r: dict[str, Any]) -> WorkItem:
        return WorkItem("deviation_to_review", None, "", r["subject__site__hospital__code"], timezone.localdate(r["detected_at"]),
                        title=_("Protocol deviation to review (%(kind)s): subject %(subject)s") % {
                            "kind": kinds.get(r["kind"], r["kind"]), "subject": r["subject__subject_number"]},
                        link=reverse("protocol-deviation-detail", args=[r["pk"]]))

    return Listing(rows, item)
