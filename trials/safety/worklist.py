"""The SAE reporting clocks on the worklist (registry/worklist_sources.py): the clocks trials.safety.selectors.clock_worklist
flags for the user, late without a report first (rank 10), then about to lapse (rank 11); and the adverse events
awaiting the investigator's assessment and signature (rank 20, the user's own work). Titles name the trial subject
number, never the patient. Each group is a values() query the worklist counts and pages in SQL."""
from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry.access import Action, Rule, may
from registry.models import User
from registry.worklist_sources import Listing, WorkItem, register_worklist_group
from trials.oversight.models import Signature
from trials.safety.models import AdverseEvent, ReportingClock
from trials.safety.selectors import clock_worklist

CLOCK_FIELDS = ("pk", "kind", "due_at", "event__number", "event__subject__subject_number",
                "event__subject__site__hospital__code")


def _clocks(user: User, late: bool) -> Listing:
    status = ReportingClock.Status.LATE if late else ReportingClock.Status.OPEN
    rows = clock_worklist(user=user).filter(status=status).values(*CLOCK_FIELDS)
    kinds = dict(ReportingClock.Kind.choices)
    state = _("late") if late else _("about to lapse")
    kind = "sae_clock_late" if late else "sae_clock_due"

    def item(r: dict[str, Any]) -> WorkItem:
        title = _("%(clock)s %(state)s: subject %(subject)s, AE %(number)s") % {
            "clock": kinds.get(r["kind"], r["kind"]), "state": state, "subject": r["event__subject__subject_number"],
            "number": r["event__number"]}
        return WorkItem(kind, None, "", r["event__subject__site__hospital__code"], timezone.localdate(r["due_at"]),
                        title=title, link=reverse("reporting-clock-detail", args=[r["pk"]]), due_at=r["due_at"])

    return Listing(rows, item)


@register_worklist_group("sae_clock_late", gettext_lazy("SAE clocks late"), rank=10)
def sae_clocks_late(user: User, on: date) -> Listing:
    return _clocks(user, late=True)


@register_worklist_group("sae_clock_due", gettext_lazy("SAE clocks about to lapse"), rank=11)
def sae_clocks_due(user: User, on: date) -> Listing:
    return _clocks(user, late=False)


@register_worklist_group("ae_to_sign", gettext_lazy("Adverse events awaiting your assessment and signature"), rank=20)
def ae_to_assess(user: User, on: date) -> Listing | None:
    """Adverse events at the investigator's hospitals whose current report carries no valid investigator signature:
    never assessed and signed, or signed before a follow-up report voided the signature (to sign again)."""
    if not may(user, Rule.SIGN):  # no query for anyone who cannot sign (signing is the investigator's act)
        return None
    # The content type by its natural key inside the subquery: no separate content-type query on a cold cache.
    meta = AdverseEvent._meta
    signatures = Signature.objects.filter(content_type__app_label=meta.app_label, content_type__model=meta.model_name,
                                          object_id=OuterRef("pk"), meaning=Signature.Meaning.ASSESSED)
    rows = (AdverseEvent.objects.restrict(user, Action.VIEW)
            .filter(current_version__isnull=False)
            .exclude(Exists(signatures.filter(status=Signature.Status.VALID)))
            .annotate(was_signed=Exists(signatures.filter(status=Signature.Status.VOIDED)))
            .restrict(user, Rule.SIGN).order_by("created_at", "id")
            .values("pk", "number", "created_at", "was_signed", "subject__subject_number", "subject__site__hospital__code"))

    def item(r: dict[str, Any]) -> WorkItem:
        template = (_("AE %(number)s of subject %(subject)s: follow-up report to assess and sign again") if r["was_signed"]
                    else _("AE %(number)s of subject %(subject)s awaiting your assessment and signature"))
        return WorkItem("ae_to_sign", None, "", r["subject__site__hospital__code"], timezone.localdate(r["created_at"]),
                        title=template % {"number": r["number"], "subject": r["subject__subject_number"]},
                        link=reverse("adverse-event-detail", args=[r["pk"]]))

    return Listing(rows, item)
