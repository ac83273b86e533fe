"""Reads of signatures and data queries, already restricted to the user."""
from django.db.models import Count, Q, QuerySet

from registry.access import Action, Rule
from registry.models import User
from trials.oversight.models import DataQuery, Signature


def signature_list(*, user: User) -> QuerySet[Signature]:
    return Signature.objects.restrict(user, Action.VIEW).select_related("content_type")


def data_query_list(*, user: User) -> QuerySet[DataQuery]:
    return DataQuery.objects.restrict(user, Action.VIEW).select_related("content_type", "hospital")


def data_query_worklist(*, user: User) -> QuerySet[DataQuery]:
    """What waits for this user: open queries at hospitals where they are site staff (to answer), answered queries
    they may close (monitors of the hospital or trial, data managers)."""
    site = DataQuery.objects.restrict(user, Rule.SITE_STAFF).values("pk")
    waiting_for_site = Q(status=DataQuery.Status.OPEN, pk__in=site)
    closers = DataQuery.objects.restrict(user, Action.CHANGE).exclude(pk__in=site)
    waiting_for_monitor = Q(status=DataQuery.Status.ANSWERED, pk__in=closers.values("pk"))
    return data_query_list(user=user).filter(waiting_for_site | waiting_for_monitor).order_by("raised_at", "id")


def open_query_counts(*, user: User) -> list[dict]:
    """Open and answered queries per site (and trial), without any text: what sponsors may see of queries.

    Everyone gets the counts over the queries they could list; sponsors additionally over their trials' queries.
    """
    visible = DataQuery.objects.restrict(user, Action.VIEW).values("pk")
    sponsored = DataQuery.objects.restrict(user, Rule.ASSESS_AS_SPONSOR).values("pk")
    rows = (DataQuery.objects.filter(Q(pk__in=visible) | Q(pk__in=sponsored))
            .exclude(status=DataQuery.Status.CLOSED)
            .values("hospital__code", "trial_id")
            .annotate(open=Count("pk", filter=Q(status=DataQuery.Status.OPEN)),
                      answered=Count("pk", filter=Q(status=DataQuery.Status.ANSWERED)))
            .order_by("hospital__code", "trial_id"))
    return [{"hospital_code": r["hospital__code"], "trial_id": r["trial_id"], "open": r["open"], "answered": r["answered"]}
            for r in rows]
