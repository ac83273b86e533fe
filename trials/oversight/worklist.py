"""Data queries on the worklist (registry/worklist_sources.py), from trials.oversight.selectors.data_query_worklist:
open ones for the site to answer, answered ones for the monitors to close. Titles name the field and the kind of
record, never the query text (free text that may name a patient)."""
from datetime import date

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.models import User
from registry.selectors import WorkItem
from registry.worklist_sources import register_worklist_source
from trials.oversight.models import DataQuery
from trials.oversight.selectors import data_query_worklist


@register_worklist_source("data_queries")
def data_queries(user: User, on: date) -> list[WorkItem]:
    items = []
    for query in data_query_worklist(user=user):  # one query: content_type and hospital selected
        answer = query.status == DataQuery.Status.OPEN
        title = (_("Data query %(id)s to answer: %(field)s (%(record)s)") if answer
                 else _("Data query %(id)s answered, to close: %(field)s (%(record)s)")) % {
            "id": query.pk, "field": query.field_label, "record": query.record_kind}
        items.append(WorkItem("query_to_answer" if answer else "query_to_close", None, "", query.hospital.code,
                              timezone.localdate(query.raised_at), title=title,
                              link=reverse("data-query-detail", args=[query.pk])))
    return items
