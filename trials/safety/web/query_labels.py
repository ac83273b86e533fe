"""How a data query on an adverse event is labelled on the query pages ("AE 2 of NB-T1-01-003"); registered with
oversight's label hook from SafetyConfig.ready()."""
from collections.abc import Iterable

from django.utils.translation import gettext as _

from trials.oversight.web.labels import register_record_label
from trials.safety.models import AdverseEvent


@register_record_label(AdverseEvent)
def adverse_event_labels(ids: Iterable[int]) -> dict[int, str]:
    return {event.pk: _("AE %(number)s of %(subject)s") % {"number": event.number, "subject": event.subject.subject_number}
            for event in AdverseEvent.objects.filter(pk__in=ids).select_related("subject")}
