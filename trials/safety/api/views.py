"""CTCAE term search, adverse events (report, follow-up, sponsor assessment) and SAE reporting clocks."""
from functools import cache
from typing import Any

from django.db.models import Prefetch
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import restricted_prefetch
from registry.api.base import ScopedModelViewSet
from registry.api.filters import FilterSet
from registry.api.serializers import KeysFirst, list_filtered, row_keys, rows_as
from trials.oversight.api.views import call
from trials.safety import ctcae
from trials.safety.api.serializers import (
    AdverseEventDetailSerializer,
    AdverseEventSerializer,
    ClockReportSerializer,
    ClockSerializer,
    FollowUpSerializer,
    ReportSerializer,
    SponsorAssessmentSerializer,
    TermListSerializer,
    TermSerializer,
    VersionSerializer,
)
from trials.safety.models import AdverseEvent, ReportingClock
from trials.safety.selectors import adverse_event_list, adverse_event_versions, clock_list, clock_worklist
from trials.safety.services.assessment import adverse_event_sponsor_assess
from trials.safety.services.clocks import reporting_clock_record_report
from trials.safety.services.events import adverse_event_follow_up, adverse_event_report


class CtcaeTermViewSet(viewsets.ViewSet):
    """CTCAE v5.0 terms (reference data, not clinical): search by name or MedDRA code, with each grade's text."""

    permission_classes = [IsAuthenticated]
    lookup_field = "meddra_code"
    lookup_value_regex = r"[0-9]+"

    @extend_schema(parameters=[OpenApiParameter("search", OpenApiTypes.STR, description="Part of the term, or a MedDRA code."),
                               OpenApiParameter("soc", OpenApiTypes.STR, description="System organ class, exactly.")],
                   responses=TermListSerializer)
    def list(self, request: Request) -> Response:
        found = ctcae.search(request.query_params.get("search", ""), soc=request.query_params.get("soc", ""))
        return Response({"version": ctcae.CURRENT_VERSION, "count": len(found), "results": TermSerializer(found, many=True).data})

    @extend_schema(responses=TermSerializer)
    def retrieve(self, request: Request, meddra_code: str | None = None) -> Response:
        term = ctcae.terms().get(meddra_code or "")
        if term is None:
            raise Http404
        return Response(TermSerializer(term).data)


class AdverseEventFilter(FilterSet):
    trial = filters.CharFilter(field_name="subject__trial__code")
    hospital = filters.CharFilter(field_name="subject__site__hospital__code")
    subject_number = filters.CharFilter(field_name="subject__subject_number")

    class Meta:
        model = AdverseEvent
        fields = ["subject", "is_serious", "is_susar", "grade"]


class AdverseEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Adverse events by subject number. Coordinators and investigators of the site report and follow up; the
    trial's sponsor assesses serious events (SUSAR); monitors read. Investigators sign through /oversight/signatures/."""

    filterset_class = AdverseEventFilter
    ordering_fields = ["created_at", "grade"]

    def _clocks(self) -> Prefetch:
        # Clocks follow their event's scope today; the restricted prefetch keeps it so if either map changes.
        return restricted_prefetch("clocks", self.request.user, ReportingClock.objects.all())

    def get_queryset(self):  # type: ignore[no-untyped-def]
        queryset = adverse_event_list(user=self.request.user)
        return queryset.prefetch_related(self._clocks()) if self.action != "list" else queryset

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return AdverseEventSerializer if self.action == "list" else AdverseEventDetailSerializer

    def list(self, request: Request) -> Response:
        # (Not a docstring, which would replace the operation's description in the OpenAPI schema.) Rows from one
        # values() query in AdverseEventSerializer's shape, the current version's fields included (no model objects
        # over five joined tables, no per-request build of two model serializers' fields).
        rows = list_filtered(self, self.get_queryset())
        page = self.paginate_queryset(KeysFirst(rows, lambda sliced: sliced.values(*_event_keys())))
        return self.get_paginated_response(_event_rows(page or []))

    def _respond(self, event: AdverseEvent, code: int = status.HTTP_200_OK) -> Response:
        fresh = adverse_event_list(user=self.request.user).prefetch_related(self._clocks()).get(pk=event.pk)
        return Response(AdverseEventDetailSerializer(fresh).data, status=code)

    @extend_schema(request=ReportSerializer, responses={201: AdverseEventDetailSerializer})
    def create(self, request: Request) -> Response:
        """The initial report (version 1). A serious event needs the site's awareness time: it starts the 24-hour clock."""
        data = self.validated(ReportSerializer)
        subject = data.pop("subject")
        return self._respond(call(adverse_event_report, actor=request.user, subject=subject, data=data),
                             status.HTTP_201_CREATED)

    @extend_schema(request=FollowUpSerializer, responses=AdverseEventDetailSerializer)
    @action(detail=True, methods=["post"], url_path="follow-up")
    def follow_up(self, request: Request, pk: str | None = None) -> Response:
        """A follow-up report: a new version with the fields given changed; a signed event needs a reason (and its
        signature is voided)."""
        event = self.get_object()
        data = self.validated(FollowUpSerializer)
        reason = data.pop("reason", "")
        return self._respond(call(adverse_event_follow_up, actor=request.user, event=event, data=data, reason=reason))

    @extend_schema(responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """Every report of the event, initial first: nothing is overwritten."""
        event = self.get_object()
        return Response(VersionSerializer(adverse_event_versions(user=request.user, event=event), many=True).data)

    def check_object_permissions(self, request: Request, obj: Any) -> None:
        # The sponsor's assessment is checked by its service (sponsor of this trial), not by the site's CHANGE rule.
        if self.action == "sponsor_assessment":
            return
        super().check_object_permissions(request, obj)

    @extend_schema(request=SponsorAssessmentSerializer, responses=AdverseEventDetailSerializer)
    @action(detail=True, methods=["post"], url_path="sponsor-assessment")
    def sponsor_assessment(self, request: Request, pk: str | None = None) -> Response:
        """The sponsor's expectedness and causality: serious + unexpected + at least possibly related = SUSAR, which
        starts the 7-day (fatal or life-threatening) or 15-day clock from the sponsor's awareness."""
        event = self.get_object()
        return self._respond(call(adverse_event_sponsor_assess, actor=request.user, event=event,
                                  **self.validated(SponsorAssessmentSerializer)))


@cache
def _event_keys() -> list[str]:
    return [*row_keys(AdverseEventSerializer), "current_version",
            *(f"current_version__{key}" for key in row_keys(VersionSerializer))]


def _event_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """values() rows of events as AdverseEventSerializer writes them, `current` (the version as recorded) nested."""
    version_keys = row_keys(VersionSerializer)

    def current(row: dict[str, Any]) -> dict[str, Any] | None:
        if row["current_version"] is None:
            return None
        return rows_as(VersionSerializer, [{key: row[f"current_version__{key}"] for key in version_keys}])[0]

    return rows_as(AdverseEventSerializer, events, current=current)


class ClockFilter(FilterSet):
    trial = filters.CharFilter(field_name="event__subject__trial__code")
    hospital = filters.CharFilter(field_name="event__subject__site__hospital__code")

    class Meta:
        model = ReportingClock
        fields = ["kind", "status", "about_to_lapse", "event"]


class ReportingClockViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """SAE reporting clocks: due times (Asia/Shanghai, and UTC), status open/met/late, flags from the sweep."""

    serializer_class = ClockSerializer
    filterset_class = ClockFilter
    ordering_fields = ["due_at", "started_at"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return clock_list(user=self.request.user)

    def check_object_permissions(self, request: Request, obj: Any) -> None:
        # Who records a report depends on the clock (the site for 24 h, the sponsor for SUSARs): the service decides.
        if self.action == "report":
            return
        super().check_object_permissions(request, obj)

    @extend_schema(request=ClockReportSerializer, responses=ClockSerializer)
    @action(detail=True, methods=["post"])
    def report(self, request: Request, pk: str | None = None) -> Response:
        """Record that the report was sent (default now): met if by the due time, late after it."""
        clock = self.get_object()
        reported_at = self.validated(ClockReportSerializer).get("reported_at")
        clock = call(reporting_clock_record_report, actor=request.user, clock=clock, reported_at=reported_at)
        return Response(ClockSerializer(self.get_queryset().get(pk=clock.pk)).data)

    @extend_schema(responses=ClockSerializer(many=True))
    @action(detail=False, methods=["get"])
    def worklist(self, request: Request) -> Response:
        """Your clocks flagged by the sweep: about to lapse, or lapsed without a report."""
        page = self.paginate_queryset(self.filter_queryset(clock_worklist(user=request.user)))
        return self.get_paginated_response(ClockSerializer(page, many=True).data)
