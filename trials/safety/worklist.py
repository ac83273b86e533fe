"""The SAE reporting clocks on the worklist (registry/worklist_sources.py): the clocks trials.safety.selectors.clock_worklist
flags for the user (about to lapse, or late without a report), and the adverse events awaiting the investigator's
assessment and signature. Titles name the trial subject number, never the patient."""
from datetime import date

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action, Rule, may
from registry.models import User
from registry.selectors import WorkItem
from registry.worklist_sources import register_worklist_source
from trials.oversight.models import Signature
from trials.safety.models import AdverseEvent, ReportingClock
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
                              clock.event.subject.site.hospital.code, timezone.localdate(clock.due_at), title=title,
                              link=reverse("reporting-clock-detail", args=[clock.pk]), due_at=clock.due_at))
    return items


@register_worklist_source("ae_to_assess")
def ae_to_assess(user: User, on: date) -> list[WorkItem]:
    """Adverse events at the investigator's hospitals whose current report carries no valid investigator signature:
    never assessed and signed, or signed before a follow-up report voided the signature (to sign again)."""
    if not may(user, Rule.SIGN):  # no query for anyone who cannot sign (signing is the investigator's act)
        return []
    # The content type by its natural key inside the subquery: no separate content-type query on a cold cache.
    meta = AdverseEvent._meta
    signatures = Signature.objects.filter(content_type__app_label=meta.app_label, content_type__model=meta.model_name,
                                          object_id=OuterRef("pk"), meaning=Signature.Meaning.ASSESSED)
    events = (AdverseEvent.objects.restrict(user, Action.VIEW)
              .filter(current_version__isnull=False)
              .exclude(Exists(signatures.filter(status=Signature.Status.VALID)))
              .annotate(was_signed=Exists(signatures.filter(status=Signature.Status.VOIDED)))
              .select_related("subject__site__hospital").order_by("created_at", "id"))
    events = events.restrict(user, Rule.SIGN)
    items = []
    for event in events:
        template = (_("AE %(number)s of subject %(subject)s: follow-up report to assess and sign again") if event.was_signed
                    else _("AE %(number)s of subject %(subject)s awaiting your assessment and signature"))
        items.append(WorkItem("ae_to_sign", None, "", event.subject.site.hospital.code, timezone.localdate(event.created_at),
                              title=template % {"number": event.number, "subject": event.subject.subject_number},
                              link=reverse("adverse-event-detail", args=[event.pk])))
    return items
