"""Score sheets (Curie, SIOPEN, Krenning), consensus reads, inter-reader agreement and patient timelines."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from imaging.models import ImagingStudy
from imaging.reading import rules, selectors
from imaging.reading.models import ScoreSheet
from imaging.reading.services.sheets import (
    consensus_sheet_create,
    score_sheet_create,
    score_sheet_submit,
    score_sheet_update,
)
from registry.access import Action, Rule, may, reach
from registry.api.base import ScopedModelViewSet, query_input
from registry.models import Patient


class ScoreSheetSerializer(serializers.ModelSerializer):
    patient = serializers.SerializerMethodField(help_text="Registry study ID; null for trial-only readers and monitors, "
                                                          "who never see registry IDs.")
    study_date = serializers.DateField(source="study.study_date", read_only=True)
    tracer = serializers.CharField(source="study.tracer", read_only=True)
    reader = serializers.CharField(source="reader.username", read_only=True)

    class Meta:
        model = ScoreSheet
        fields = ["id", "study", "patient", "study_date", "tracer", "reader", "kind", "role", "status", "timepoint",
                  "values", "total", "flag", "comment", "submitted_at", "created_at", "updated_at"]

    def get_patient(self, sheet: ScoreSheet) -> str | None:
        request = self.context.get("request")
        known = reach(request.user if request else None, Rule.KNOW_PATIENT).covers(hospital_id=sheet.study.patient.hospital_id)
        return sheet.study.patient.study_id if known else None


class SheetCreateSerializer(serializers.Serializer):
    study = serializers.PrimaryKeyRelatedField(queryset=ImagingStudy.objects.none())
    kind = serializers.ChoiceField(choices=ScoreSheet.Kind.choices)
    values = serializers.JSONField(required=False, help_text=rules.VALUES_HELP)
    timepoint = serializers.ChoiceField(choices=ScoreSheet.Timepoint.choices, required=False, allow_blank=True, default="")
    comment = serializers.CharField(required=False, allow_blank=True, default="")

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:  # studies the caller cannot score read as "does not exist"
            self.fields["study"].queryset = selectors.scorable_studies(user=request.user)


class SheetUpdateSerializer(serializers.Serializer):
    values = serializers.JSONField(required=False, help_text="Merged into the draft; a segment set to null is cleared.")
    timepoint = serializers.ChoiceField(choices=ScoreSheet.Timepoint.choices, required=False, allow_blank=True)
    comment = serializers.CharField(required=False, allow_blank=True)


class ScoreSheetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Reader score sheets. A draft is visible to its reader only; totals and flags are computed on submit."""

    serializer_class = ScoreSheetSerializer
    filterset_fields = ["kind", "role", "status", "timepoint", "study", "flag"]
    ordering_fields = ["submitted_at", "created_at", "total"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.sheet_list(user=self.request.user)

    @extend_schema(request=SheetCreateSerializer, responses={201: ScoreSheetSerializer})
    def create(self, request: Request) -> Response:
        """Start your independent read of a study (a draft until you submit it)."""
        data = self.validated(SheetCreateSerializer)
        sheet = score_sheet_create(actor=request.user, **data)
        return Response(ScoreSheetSerializer(sheet, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SheetCreateSerializer, responses={201: ScoreSheetSerializer})
    @action(detail=False, methods=["post"])
    def consensus(self, request: Request) -> Response:
        """Adjudicate: the consensus read of a study with at least two submitted reads."""
        if not may(request.user, Action.ADD, ScoreSheet):
            raise exceptions.PermissionDenied(_("Your role does not allow scoring studies."))
        data = self.validated(SheetCreateSerializer)
        sheet = consensus_sheet_create(actor=request.user, **data)
        return Response(ScoreSheetSerializer(sheet, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SheetUpdateSerializer, responses=ScoreSheetSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change your draft."""
        sheet = score_sheet_update(actor=request.user, sheet=self.get_object(), **self.validated(SheetUpdateSerializer))
        return Response(ScoreSheetSerializer(sheet, context={"request": request}).data)

    @extend_schema(request=None, responses=ScoreSheetSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Submit your draft: every segment must be scored; the total and flag are computed and the sheet locks."""
        sheet = score_sheet_submit(actor=request.user, sheet=self.get_object())
        return Response(ScoreSheetSerializer(sheet, context={"request": request}).data)


class KindQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ScoreSheet.Kind.choices, help_text="The scoring system.")


class SetAgreementQuery(KindQuery):
    hospital = serializers.CharField(required=False, help_text="Hospital code: only this hospital's studies.")


def _kind(request: Request) -> str:
    return query_input(request, KindQuery)["kind"]


class LabelledSerializer(serializers.Serializer):
    label = serializers.CharField()
    label_zh = serializers.CharField()


class SegmentSerializer(LabelledSerializer):
    code = serializers.CharField()


class LevelSerializer(LabelledSerializer):
    value = serializers.IntegerField()


class ScoringSystemSerializer(serializers.Serializer):
    """One system as rules.systems_reference() gives it (Krenning has no segments and no flag)."""

    kind = serializers.ChoiceField(choices=ScoreSheet.Kind.choices)
    name = serializers.CharField()
    segments = SegmentSerializer(many=True)
    levels = LevelSerializer(many=True)
    max_per_segment = serializers.IntegerField()
    max_total = serializers.IntegerField()
    flag_above = serializers.IntegerField(allow_null=True, help_text="A total above this is flagged; null: no flag.")
    flag_applies_to = serializers.CharField(allow_null=True, help_text="The time point the flag applies to.")
    source = serializers.CharField()
    version = serializers.CharField()


class ScoringSystemsView(GenericAPIView):
    """The scoring systems: segments with codes, labels and score ranges (reference data from nucmed)."""

    pagination_class = None
    filter_backends: list[type] = []

    @extend_schema(responses=ScoringSystemSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(rules.systems_reference())


class StudyAgreementView(GenericAPIView):
    """Agreement between the submitted reads of one study: each segment side by side, and per reader pair a
    weighted kappa over the study's segments and the difference of totals."""

    filter_backends: list[type] = []

    @extend_schema(parameters=[KindQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        study = get_object_or_404(selectors.scorable_studies(user=request.user), pk=pk)
        return Response(selectors.study_agreement(user=request.user, study=study, kind=_kind(request)))


class AgreementView(GenericAPIView):
    """Inter-reader agreement over a reading set: every study in your scope (optionally one hospital) with at
    least two submitted reads under the scoring system. Weighted kappa per segment for each reader pair, and
    the ICC of the totals."""

    filter_backends: list[type] = []

    @extend_schema(parameters=[SetAgreementQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        query = query_input(request, SetAgreementQuery)
        return Response(selectors.reading_set_agreement(user=request.user, kind=query["kind"], hospital_code=query.get("hospital")))


class PatientTimelineView(GenericAPIView):
    """A patient's scores over time: the total per imaging time point and the relative change from baseline."""

    filter_backends: list[type] = []

    @extend_schema(parameters=[KindQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, study_id: str) -> Response:
        patient = get_object_or_404(Patient.objects.restrict(request.user, Action.VIEW), study_id=study_id)
        return Response(selectors.patient_timeline(user=request.user, patient=patient, kind=_kind(request)))


