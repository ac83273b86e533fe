"""The subject page's data queries: each visit's and dose's queries the user may read, and whether the user may
raise one (registered with the trials subject-page hook from OversightConfig.ready())."""
from typing import Any

from django.contrib.contenttypes.models import ContentType

from trials.models import DosingRecord, Subject, SubjectVisit
from trials.oversight.models import DataQuery
from trials.oversight.selectors import data_query_list
from trials.oversight.services.queries import may_raise_query
from trials.web.subject_sections import register_subject_section


def _record_queries(user: Any, model: type, ids: list[int]) -> dict[int, list[DataQuery]]:
    """Record id -> the data queries on it the user may read (sponsors read none)."""
    found: dict[int, list[DataQuery]] = {}
    content_type = ContentType.objects.get_for_model(model)
    for query in data_query_list(user=user).filter(content_type=content_type, object_id__in=ids).order_by("raised_at", "id"):
        found.setdefault(query.object_id, []).append(query)
    return found


@register_subject_section("queries")
def subject_queries(user: Any, subject: Subject, context: dict[str, Any]) -> None:
    context["may_raise"] = may_raise_query(user, hospital_id=subject.site.hospital_id, trial_id=subject.trial_id)
    for model, rows in ((SubjectVisit, context["visits"]), (DosingRecord, context["doses"])):
        queries = _record_queries(user, model, [row.pk for row in rows])
        for row in rows:
            row.queries = queries.get(row.pk, [])
