"""The SAE reporting clocks on the worklist (registry/worklist_sources.py): the clocks trials.safety.selectors.clock_worklist
flags for the user (about to lapse, or late without a report). Titles name the trial subject number, never the patient."""
from datetime import date

from django.urls import reverse
from django.utils.translation import gettext as _

from registry.models import User
from registry.selectors import WorkItem
from registry.worklist_sources import register_worklist_source
from trials.safety.models import ReportingClock
from trials.safety.selectors import clock_worklist


@register_worklist_source("sae_clocks")
def sae_clocks(user: User, on: date) -> list[WorkItem]:
    items = []
    for clock in clock_worklist(user=user):  # one query: clock_list selects the subject, trial and site
        state = _("late") if clock.status == ReportingClock.Status.LATE else _("about to lapse")
        title = _("%(clock)s %(state)s: subject %(subject)s, AE %(number)s") % {
            "clock": clock.get_kind_display(), "state": state, "subject": clock.event.subject.subject_number,
            "number": clock.event.number}
        items.append(WorkItem(f"sae_clock_{'late' if clock.status == ReportingClock.Status.LATE else 'due'}", None, "",
                              clock.event.subject.site.hospital.code, clock.due_at.date(), title=title,
                              link=reverse("reporting-clock-detail", args=[clock.pk]), due_at=clock.due_at))
    return items
