"""How a data query on an adverse event is labelled on the query pages ("AE 2 of NB-T1-01-003") and which page it links
to (the event's, for a user who may see the event); registered with oversight's hooks from SafetyConfig.ready()."""
from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from registry.access import Action
from trials.oversight.web.labels import register_record_label, register_record_link
from trials.safety.models import AdverseEvent


@register_record_label(AdverseEvent)
def adverse_event_labels(ids: Iterable[int]) -> dict[int, str]:
    return {event.pk: _("AE %(number)s of %(subject)s") % {"number": event.number, "subject": event.subject.subject_number}
            for event in AdverseEvent.objects.filter(pk__in=ids).select_related("subject")}


@register_record_link(AdverseEvent)
def adverse_event_links(user: Any, ids: Iterable[int]) -> dict[int, str]:
    return {pk: reverse("web-ae-detail", args=[pk])
            for pk in AdverseEvent.objects.restrict(user, Action.VIEW).filter(pk__in=ids).values_list("pk", flat=True)}
