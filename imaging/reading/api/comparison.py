"""Reading comparisons (two methods against a reference standard): define, record units and reads, list."""
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from imaging.models import ImagingStudy
from imaging.reading.models import ComparisonUnit, ReadingComparison, UnitRead
from imaging.reading.services.comparison import comparison_unit_create, reading_comparison_create, unit_read_record
from registry.access import Action
from registry.api.base import ScopedModelViewSet, ScopedRelatedFields
from registry.models import Patient


class ComparisonSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReadingComparison
        fields = ["id", "name", "method_a", "method_b", "unit", "description", "created_at"]
        read_only_fields = ["id", "created_at"]


class ReadSerializer(serializers.ModelSerializer):
    reader = serializers.CharField(source="reader.username", read_only=True)

    class Meta:
        model = UnitRead
        fields = ["method", "positive", "reader", "created_at"]
        read_only_fields = ["reader", "created_at"]


class UnitSerializer(serializers.ModelSerializer):
    patient = serializers.CharField(source="patient.study_id", read_only=True,
                                    help_text="Registry study ID (units are visible at the patient's hospital only).")
    reads = ReadSerializer(many=True, read_only=True)

    class Meta:
        model = ComparisonUnit
        fields = ["id", "comparison", "patient", "study", "label", "reference_positive", "reference_source", "reads", "created_at"]


class UnitCreateSerializer(ScopedRelatedFields, serializers.Serializer):
    scoped_related = {"patient": Action.ADD, "study": Action.VIEW, "comparison": Action.VIEW}
    comparison = serializers.PrimaryKeyRelatedField(queryset=ReadingComparison.objects.none())
    patient = serializers.SlugRelatedField(slug_field="study_id", queryset=Patient.objects.none())
    study = serializers.PrimaryKeyRelatedField(queryset=ImagingStudy.objects.none(), required=False, allow_null=True, default=None)
    label = serializers.CharField(max_length=100, default="patient")
    reference_positive = serializers.BooleanField()
    reference_source = serializers.ChoiceField(choices=ComparisonUnit.Source.choices)


class ComparisonViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Reading comparisons: every hospital member sees them; data managers define them."""

    scoped_queryset = ReadingComparison.objects.all()
    serializer_class = ComparisonSerializer
    filterset_fields = ["unit"]

    @extend_schema(request=ComparisonSerializer, responses={201: ComparisonSerializer})
    def create(self, request: Request) -> Response:
        comparison = reading_comparison_create(actor=request.user, **self.validated(ComparisonSerializer))
        return Response(ComparisonSerializer(comparison).data, status=status.HTTP_201_CREATED)


class UnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Units (lesions or patients) of comparisons with their reference standard and reads, at your hospitals."""

    scoped_queryset = ComparisonUnit.objects.select_related("patient").prefetch_related(
        Prefetch("reads", queryset=UnitRead.objects.select_related("reader")))
    serializer_class = UnitSerializer
    filterset_fields = ["comparison", "reference_positive", "reference_source"]

    @extend_schema(request=UnitCreateSerializer, responses={201: UnitSerializer})
    def create(self, request: Request) -> Response:
        unit = comparison_unit_create(actor=request.user, **self.validated(UnitCreateSerializer))
        return Response(UnitSerializer(self.get_queryset().get(pk=unit.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReadSerializer, responses={201: UnitSerializer})
    @action(detail=True, methods=["post"])
    def reads(self, request: Request, pk: str | None = None) -> Response:
        """Record one method's read of this unit (you are the reader)."""
        unit = self.get_object()
        data = self.validated(ReadSerializer)
        unit_read_record(actor=request.user, unit=unit, method=data["method"], positive=data["positive"])
        return Response(UnitSerializer(self.get_queryset().get(pk=unit.pk)).data, status=status.HTTP_201_CREATED)
