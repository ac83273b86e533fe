"""Data queries: raised by monitors and data managers, answered by the site, closed or re-opened by monitors."""
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action, Rule, ensure_in_scope, reach
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User
from trials.oversight.models import DataQuery, QueryMessage
from trials.oversight.services.records import record_location, visible_record

Q_ = DataQuery.Status


def _text(text: str, field: str = "text") -> str:
    text = (text or "").strip()
    if not text:
        # One message, the field's own, so a page shows it once (next to the field), not again at the top.
        message = _("This field is required.")
        raise ApplicationError(message, code="invalid", fields={field: [message]})
    return text


def is_site_user(actor: User, query: DataQuery) -> bool:
    """Whether the actor answers this query: the site's coordinators and investigators, or a data manager."""
    return reach(actor, Rule.ANSWER_QUERY).covers(hospital_id=query.hospital_id)


def is_monitor_user(actor: User, query: DataQuery) -> bool:
    """Whether the actor closes and re-opens this query: a monitor of the hospital or of the trial, or a data manager."""
    return reach(actor, Rule.CLOSE_QUERY).covers(hospital_id=query.hospital_id, trial_id=query.trial_id)


def may_raise_query(actor: User, *, hospital_id: int, trial_id: int | None) -> bool:
    """Whether the actor may raise a query on a record of this hospital (and trial): the ADD map of DataQuery
    (monitors and data managers of the hospital, monitors of the trial). For showing the form; the service checks again."""
    return reach(actor, Action.ADD, DataQuery).covers(hospital_id=hospital_id, trial_id=trial_id)


def _message(query: DataQuery, *, actor: User, kind: str, text: str) -> QueryMessage:
    return QueryMessage.objects.create(query=query, kind=kind, author=actor, text=text, created_at=timezone.now())


def _audit(actor: User, action: str, query: DataQuery, before: dict | None, reason: str = "") -> None:
    audit_record(actor=actor, action=action, instance=query, before=before, after=snapshot(query), reason=reason,
                 hospital_id=query.hospital_id, trial_id=query.trial_id)


def _check_field(model: type[Model], field_name: str) -> str:
    """A concrete field of the record's model, or one the model lists in `queryable_field_names()` (an adverse event
    offers the fields of its reports, which live on its versions)."""
    extra = getattr(model, "queryable_field_names", None)
    if callable(extra) and field_name in extra():
        return field_name
    try:
        field = model._meta.get_field(field_name)
    except FieldDoesNotExist:
        field = None
    if field is None or not getattr(field, "concrete", False):
        raise ApplicationError(_("%(record)s has no field %(field)s.")
                               % {"record": model._meta.verbose_name, "field": repr(field_name)}, code="invalid",
                               fields={"field_name": [_("No such field on this record.")]})
    return field.name


@transaction.atomic
def data_query_raise(*, actor: User, content_type: ContentType, object_id: int, field_name: str, text: str) -> DataQuery:
    record = visible_record(actor=actor, content_type=content_type, object_id=object_id)
    field_name = _check_field(type(record), field_name)
    hospital_id, trial_id = record_location(record)
    now = timezone.now()
    query = DataQuery(content_type=content_type, object_id=record.pk, hospital_id=hospital_id, trial_id=trial_id,
                      field_name=field_name, text=_text(text), raised_by=actor, raised_at=now)
    query.full_clean()
    query.save()
    # Monitors of the hospital or of the trial, and data managers: the ADD map of DataQuery says who.
    ensure_in_scope(query, user=actor, action=Action.ADD)
    _message(query, actor=actor, kind=QueryMessage.Kind.RAISE, text=query.text)
    _audit(actor, "raise_query", query, None)
    return query


def _locked(actor: User, query: DataQuery) -> DataQuery:
    locked = DataQuery.objects.restrict(actor, Action.CHANGE).select_for_update().filter(pk=query.pk).first()
    if locked is None:
        raise ApplicationError(_("This query is not in your hospitals and trials."), code="out_of_scope")
    return locked


@transaction.atomic
def data_query_answer(*, actor: User, query: DataQuery, text: str) -> DataQuery:
    query = _locked(actor, query)
    if not is_site_user(actor, query):
        raise ApplicationError(_("Only the site (its coordinators and investigators) answers a query."), code="not_allowed")
    if query.status != Q_.OPEN:
        raise ApplicationError(_("Only an open query can be answered (status: %(status)s).")
                               % {"status": query.get_status_display()}, code="invalid_transition")
    before = snapshot(query)
    query.status = Q_.ANSWERED
    query.save(update_fields=["status", "updated_at"])
    _message(query, actor=actor, kind=QueryMessage.Kind.ANSWER, text=_text(text))
    _audit(actor, "answer_query", query, before)
    return query


@transaction.atomic
def data_query_close(*, actor: User, query: DataQuery, text: str = "") -> DataQuery:
    query = _locked(actor, query)
    if not is_monitor_user(actor, query):
        raise ApplicationError(_("Only a monitor or a data manager closes a query."), code="not_allowed")
    if query.status == Q_.CLOSED:
        raise ApplicationError(_("This query is already closed."), code="invalid_transition")
    before = snapshot(query)
    query.status, query.closed_at = Q_.CLOSED, timezone.now()
    query.save(update_fields=["status", "closed_at", "updated_at"])
    _message(query, actor=actor, kind=QueryMessage.Kind.CLOSE, text=(text or "").strip())
    _audit(actor, "close_query", query, before)
    return query


@transaction.atomic
def data_query_reopen(*, actor: User, query: DataQuery, text: str) -> DataQuery:
    """Back to the site: the answer did not resolve it (from answered) or a closed query needs more (from closed)."""
    query = _locked(actor, query)
    if not is_monitor_user(actor, query):
        raise ApplicationError(_("Only a monitor or a data manager re-opens a query."), code="not_allowed")
    if query.status == Q_.OPEN:
        raise ApplicationError(_("This query is already open."), code="invalid_transition")
    reason = _text(text)
    before = snapshot(query)
    query.status, query.closed_at = Q_.OPEN, None
    query.save(update_fields=["status", "closed_at", "updated_at"])
    _message(query, actor=actor, kind=QueryMessage.Kind.REOPEN, text=reason)
    _audit(actor, "reopen_query", query, before, reason=reason)
    return query
