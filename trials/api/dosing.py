"""Dosing records (entered fields in, computed checks out) and the protocol deviations they raise."""
from decimal import Decimal

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import Action
from registry.api.base import ScopedModelViewSet, ScopedRelatedFields
from registry.api.filters import FilterSet, RowIdFilter
from trials import selectors
from trials.models import DosingRecord, ProtocolDeviation, Subject, SubjectVisit
from trials.services.dosing import dosing_record_create, dosing_record_update, protocol_deviation_review

ACTIVITY = {"max_digits": 10, "decimal_places": 3, "min_value": Decimal(0)}


class DosingSerializer(serializers.ModelSerializer):
    subject_number = serializers.CharField(source="subject.subject_number", read_only=True)

    class Meta:
        model = DosingRecord
        fields = ["id", "subject", "subject_number", "visit", "agent_code", "lot_number", "calibrated_activity_mbq",
                  "calibrated_at", "administered_activity_mbq", "administered_at", "residual_activity_mbq",
                  "residual_measured_at", "route", "weight_kg", "net_activity_mbq", "age_years", "recommended_activity_mbq",
                  "deviation_percent", "dosage_table", "dosage_table_version", "dosage_table_is_fallback", "dosage_acquisition",
                  "entered_vs_net_percent", "entered_activity_mismatch", "dosage_note", "effective_dose_msv",
                  "effective_dose_coefficient", "effective_dose_age_band", "effective_dose_table_version",
                  "reference_unverified", "catalogue_version", "created_at", "updated_at"]


class DosingInputSerializer(ScopedRelatedFields, serializers.Serializer):
    scoped_related = {"subject": Action.ADD, "visit": Action.ADD}

    subject = serializers.PrimaryKeyRelatedField(queryset=Subject.objects.none())
    visit = serializers.PrimaryKeyRelatedField(queryset=SubjectVisit.objects.none(), required=False, allow_null=True)
    lot_number = serializers.CharField(max_length=40)
    calibrated_activity_mbq = serializers.DecimalField(**ACTIVITY)
    calibrated_at = serializers.DateTimeField()
    administered_activity_mbq = serializers.DecimalField(**ACTIVITY)
    administered_at = serializers.DateTimeField()
    residual_activity_mbq = serializers.DecimalField(**ACTIVITY, required=False)
    residual_measured_at = serializers.DateTimeField(required=False, allow_null=True)
    route = serializers.ChoiceField(choices=DosingRecord.Route.choices, required=False)
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal(0))
    reason = serializers.CharField(required=False, allow_blank=True,
                                   help_text="Needed when the subject's casebook is signed: the signature is then voided.")


class DosingUpdateSerializer(DosingInputSerializer):
    scoped_related = {"visit": Action.CHANGE}
    subject = None  # type: ignore[assignment]  # a dose stays with its subject
    reason = serializers.CharField(help_text="Why the recorded dose is corrected (kept in the audit trail).")


class DosingFilter(FilterSet):
    trial = RowIdFilter(field_name="subject__trial")
    site = RowIdFilter(field_name="subject__site")
    administered_after = filters.DateTimeFilter(field_name="administered_at", lookup_expr="gte")

    class Meta:
        model = DosingRecord
        fields = ["subject", "trial", "site", "agent_code"]


class DosingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    serializer_class = DosingSerializer
    filterset_class = DosingFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.dosing_list(user=self.request.user)

    @extend_schema(request=DosingInputSerializer, responses={201: DosingSerializer})
    def create(self, request: Request) -> Response:
        """Record an administration; net activity, recommendation, deviation and effective dose are computed."""
        record = dosing_record_create(actor=request.user, **self.validated(DosingInputSerializer))
        return Response(self.get_serializer(self.get_queryset().get(pk=record.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DosingUpdateSerializer, responses={200: DosingSerializer})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Correct a recorded dose, with a reason; the computed values are recomputed."""
        record = self.get_object()
        data = self.validated(DosingUpdateSerializer, partial=True)
        reason = data.pop("reason", "")
        dosing_record_update(actor=request.user, record=record, data=data, reason=reason)
        return Response(self.get_serializer(self.get_queryset().get(pk=record.pk)).data)


class DeviationSerializer(serializers.ModelSerializer):
    subject_number = serializers.CharField(source="subject.subject_number", read_only=True)
    reviewed_by = serializers.CharField(source="reviewed_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = ProtocolDeviation
        fields = ["id", "subject", "subject_number", "dosing_record", "subject_visit", "kind", "description", "detected_at",
                  "status", "reviewed_by", "reviewed_at", "review_note"]


class ReviewSerializer(serializers.Serializer):
    review_note = serializers.CharField(help_text="What the review found and what was done.")
    reason = serializers.CharField(required=False, allow_blank=True,
                                   help_text="Needed when the subject's casebook is signed: the signature is then voided.")


class DeviationFilter(FilterSet):
    trial = RowIdFilter(field_name="subject__trial")
    site = RowIdFilter(field_name="subject__site")

    class Meta:
        model = ProtocolDeviation
        fields = ["subject", "kind", "status", "trial", "site"]


class DeviationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    serializer_class = DeviationSerializer
    filterset_class = DeviationFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.deviation_list(user=self.request.user)

    @extend_schema(request=ReviewSerializer, responses={200: DeviationSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        """Close a deviation after review (investigators and data managers)."""
        deviation = self.get_object()
        data = self.validated(ReviewSerializer)
        protocol_deviation_review(actor=request.user, deviation=deviation, note=data["review_note"], reason=data.get("reason", ""))
        return Response(self.get_serializer(self.get_queryset().get(pk=deviation.pk)).data)
