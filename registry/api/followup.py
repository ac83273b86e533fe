"""Follow-up visits, the coordinator's worklist, the follow-up plan and survival outcomes."""
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from registry import codelists as cl
from registry.access import Action
from registry.api.base import ScopedModelViewSet, ScopedRelatedFields
from registry.api.filters import FilterSet
from registry.api.patients import OutcomeSerializer
from registry.errors import ApplicationError
from registry.models import FollowUpPlan, FollowUpVisit, Patient
from registry.selectors import outcomes, patients_for_research, visit_list, worklist_page_for_api
from registry.services.followup import followup_visit_mark_missed, followup_visit_record
from registry.services.plans import followup_plan_update


class VisitSerializer(serializers.ModelSerializer):
    patient = serializers.CharField(source="patient.study_id", read_only=True)

    class Meta:
        model = FollowUpVisit
        fields = ["id", "patient", "number", "target_date", "window_start", "window_end", "status", "visit_date",
                  "vital_status", "disease_status", "event_date", "event_site", "treatment_phase", "last_contact_date",
                  "death_date", "death_cause", "missed_reason", "recorded_at"]


class VisitRecordSerializer(serializers.Serializer):
    visit_date = serializers.DateField()
    vital_status = serializers.ChoiceField(choices=FollowUpVisit.VitalStatus.choices)
    disease_status = serializers.ChoiceField(choices=cl.RESPONSE.choices, required=False, allow_blank=True)
    event_date = serializers.DateField(required=False, allow_null=True)
    event_site = serializers.CharField(max_length=120, required=False, allow_blank=True)
    treatment_phase = serializers.CharField(max_length=40, required=False, allow_blank=True)
    last_contact_date = serializers.DateField(required=False, allow_null=True)
    death_date = serializers.DateField(required=False, allow_null=True)
    death_cause = serializers.CharField(max_length=200, required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Required when correcting a done visit.")


class UnscheduledVisitSerializer(ScopedRelatedFields, VisitRecordSerializer):
    scoped_related = {"patient": Action.ADD}
    patient = serializers.SlugRelatedField(slug_field="study_id", queryset=Patient.objects.none())


class MissedSerializer(serializers.Serializer):
    reason = serializers.CharField()


class VisitFilter(FilterSet):
    patient = filters.CharFilter(field_name="patient__study_id")
    hospital = filters.CharFilter(field_name="patient__hospital__code")
    target_after = filters.DateFilter(field_name="target_date", lookup_expr="gte")
    target_before = filters.DateFilter(field_name="target_date", lookup_expr="lte")

    class Meta:
        model = FollowUpVisit
        fields = ["patient", "status", "vital_status", "disease_status"]


class VisitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    serializer_class = VisitSerializer
    filterset_class = VisitFilter
    ordering_fields = ["target_date", "window_end", "number"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return visit_list(user=self.request.user)

    @extend_schema(request=UnscheduledVisitSerializer, responses={201: VisitSerializer})
    def create(self, request: Request) -> Response:
        """Record an unscheduled visit (for example an emergency admission or a phone contact)."""
        data = self.validated(UnscheduledVisitSerializer)
        patient, reason = data.pop("patient"), data.pop("reason", "")
        visit = followup_visit_record(actor=request.user, patient=patient, data=data, reason=reason)
        return Response(VisitSerializer(visit).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=VisitRecordSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"])
    def record(self, request: Request, pk: str | None = None) -> Response:
        """Record this expected visit; correcting a visit already done needs a reason."""
        visit = self.get_object()
        data = self.validated(VisitRecordSerializer)
        reason = data.pop("reason", "")
        visit = followup_visit_record(actor=request.user, patient=visit.patient, visit=visit, data=data, reason=reason)
        return Response(VisitSerializer(visit).data)

    @extend_schema(request=MissedSerializer, responses=VisitSerializer)
    @action(detail=True, methods=["post"])
    def missed(self, request: Request, pk: str | None = None) -> Response:
        visit = self.get_object()
        reason = self.validated(MissedSerializer)["reason"]
        return Response(VisitSerializer(followup_visit_mark_missed(actor=request.user, visit=visit, reason=reason)).data)


class WorkItemSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="visit_overdue, visit_due, reconsent_due, adult_consent_due, or a registered "
                                           "source's kind (sae_clock_due, sae_clock_late, ...).")
    title = serializers.CharField(allow_blank=True, help_text="What to do; no patient identifier. Empty for registry items "
                                                               "(visits, consents): the kind and study ID say it.")
    study_id = serializers.CharField(allow_blank=True,
                                     help_text="Registry items only (users of the patient's hospital); empty otherwise.")
    hospital_code = serializers.CharField()
    due_date = serializers.DateField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    link = serializers.CharField(allow_blank=True, help_text="API URL of the object to act on; empty where there is none.")
    visit_id = serializers.IntegerField(allow_null=True)
    visit_number = serializers.IntegerField(allow_null=True)


class WorklistGroupSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The group: a kind of item (`group` parameter to list only it).")
    heading = serializers.CharField()
    count = serializers.IntegerField()
    link = serializers.CharField(help_text="This list filtered to the group.")


class WorklistPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    groups = WorklistGroupSerializer(many=True, help_text="Every non-empty group, most urgent first, with its count.")
    results = WorkItemSerializer(many=True)


class WorklistQuerySerializer(serializers.Serializer):
    group = serializers.CharField(required=False, help_text="Only this group (a key of `groups`).")
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


class WorklistView(GenericAPIView):  # not ListAPIView: the page is built here, so the schema must not wrap it again
    """What to do, most urgent first: SAE/SUSAR clocks late, then about to lapse; your own signatures and scoring;
    follow-up visits overdue, then due; then the rest (held uploads, data queries, deviations, consents to renew).
    One list in that order, paginated across the groups; `groups` gives every group's count, and `group=<key>` lists
    one group. Counted and paged in SQL: the cost does not grow with the number of items."""

    serializer_class = WorkItemSerializer
    filter_backends: list[type] = []

    @extend_schema(parameters=[WorklistQuerySerializer], responses=WorklistPageSerializer)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = WorklistQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise ApplicationError(_("The worklist's paging parameters are not valid."), code="invalid_parameters",
                                   fields=query.errors)
        only = query.validated_data.get("group")
        size = self.paginator.get_page_size(request) or 50
        number = query.validated_data.get("page", 1)
        groups, rows = worklist_page_for_api(user=request.user, offset=(number - 1) * size, limit=size, only=only)
        total = sum(g.count for g in groups)
        url = request.build_absolute_uri()
        page_param = self.paginator.page_query_param
        nxt = replace_query_param(url, page_param, number + 1) if number * size < total else None
        prev = (remove_query_param(url, page_param) if number == 2 else replace_query_param(url, page_param, number - 1)
                ) if number > 1 else None
        base = reverse("worklist")
        return Response({
            "count": total, "next": nxt, "previous": prev,
            "groups": [{"key": g.key, "heading": str(g.heading), "count": g.count, "link": f"{base}?group={g.key}"}
                       for g in groups],
            "results": rows,  # WorkItem.as_row, the shape WorkItemSerializer documents
        })


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = FollowUpPlan
        fields = ["id", "name", "rules", "window_days", "horizon_years", "is_default", "updated_at"]
        read_only_fields = ["id", "name", "is_default", "updated_at"]


class PlanUpdateSerializer(serializers.Serializer):
    rules = serializers.JSONField(required=False)
    window_days = serializers.IntegerField(min_value=0, max_value=120, required=False)
    horizon_years = serializers.IntegerField(min_value=1, max_value=30, required=False)
    reason = serializers.CharField()


class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    serializer_class = PlanSerializer
    scoped_queryset = FollowUpPlan.objects.all()

    @extend_schema(request=PlanUpdateSerializer, responses=PlanSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        plan = self.get_object()
        data = self.validated(PlanUpdateSerializer)
        reason = data.pop("reason")
        return Response(PlanSerializer(followup_plan_update(actor=request.user, plan=plan, data=data, reason=reason)).data)


class OutcomeListView(ListAPIView):
    """Overall and event-free survival per patient in scope, excluding withdrawals of data use."""

    serializer_class = OutcomeSerializer
    filter_backends: list[type] = []

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patients = patients_for_research(user=request.user, on=timezone.localdate()).order_by("study_id")
        page = self.paginate_queryset(patients)
        rows = outcomes(Patient.objects.filter(pk__in=[p.pk for p in page]).order_by("study_id"))
        return self.get_paginated_response(OutcomeSerializer(rows, many=True).data)
