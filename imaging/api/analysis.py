"""Imaging analysis API: dose per exam and the child's dose history, SUV results, previews, VOI measurements."""
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from imaging.models import DoseResult, Preview, Series, SuvResult, VoiMeasurement
from imaging.selectors import patient_dose_history
from imaging.services.voi import voi_measure
from imaging.volume import open_bytes
from nucmed.body_size import LbmFormula
from nucmed.voi import PeakMethod
from registry.access import Action
from registry.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet, ScopedRelatedFields
from registry.models import Patient


class DoseResultSerializer(serializers.ModelSerializer):
    study_date = serializers.DateField(source="study.study_date", read_only=True, allow_null=True)

    class Meta:
        model = DoseResult
        fields = ["id", "study", "study_date", "tracer", "age_years", "weight_kg", "activity_source", "administered_at",
                  "administered_activity_mbq", "recommended_activity_mbq", "recommendation_table", "activity_deviation_percent",
                  "recommendation_not_available", "radiopharmaceutical_msv", "radiopharmaceutical_age_band",
                  "radiopharmaceutical_coefficient", "radiopharmaceutical_table", "radiopharmaceutical_not_available",
                  "ct_dlp_mgy_cm", "ct_dlp_source", "ct_region", "ct_region_source", "ct_phantom_cm", "ct_k_factor", "ct_msv",
                  "ct_table", "ct_not_available", "ct_events", "ct_by_region", "ct_ctdivol_mgy", "ct_dw_cm", "ct_ssde_mgy",
                  "total_msv", "complete", "details", "computed_at"]


class DoseExamSerializer(serializers.Serializer):
    study = serializers.IntegerField()
    study_uid = serializers.CharField()
    study_date = serializers.DateField(allow_null=True)
    tracer = serializers.CharField()
    modality_group = serializers.CharField()
    administered_activity_mbq = serializers.FloatField(allow_null=True)
    radiopharmaceutical_msv = serializers.FloatField(allow_null=True)
    ct_msv = serializers.FloatField(allow_null=True)
    ct_events = serializers.ListField(child=serializers.DictField(), help_text="CT dose per irradiation event (region, phantom, k, mSv)")
    ct_by_region = serializers.DictField(child=serializers.FloatField(), help_text="CT mSv per k-factor region")
    ct_ssde_mgy = serializers.FloatField(allow_null=True)
    radiopharmaceutical_table = serializers.CharField()
    ct_table = serializers.CharField()
    total_msv = serializers.FloatField(allow_null=True)
    complete = serializers.BooleanField()
    not_available = serializers.ListField(child=serializers.CharField())
    cumulative_msv = serializers.FloatField(help_text="Running total of the child's effective dose up to this exam")


class DoseHistorySerializer(serializers.Serializer):
    patient = serializers.CharField(source="patient.study_id")
    exams = DoseExamSerializer(many=True)
    cumulative_msv = serializers.FloatField()
    complete = serializers.BooleanField(help_text="False when any exam's dose is missing in part: the total is then a lower bound")


class SuvResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = SuvResult
        fields = ["id", "series", "quantifiable", "not_quantifiable_reason", "units", "decay_correction", "suv_bw_factor",
                  "suv_lbm_factor", "suv_lbm_janma_factor", "suv_bsa_factor", "suv_max", "suv_max_position_mm", "method_version",
                  "details", "computed_at"]


class PreviewSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField()

    class Meta:
        model = Preview
        fields = ["id", "series", "kind", "index", "slice_position_mm", "width", "height", "units", "window", "image", "created_at"]

    def get_image(self, obj: Preview) -> str:
        request = self.context.get("request")
        path = f"/api/v1/imaging/previews/{obj.pk}/image/"
        return request.build_absolute_uri(path) if request is not None else path


class VoiSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = VoiMeasurement
        fields = ["id", "series", "label", "kind", "shape", "centre_mm", "radius_mm", "box_min_mm", "box_max_mm", "threshold",
                  "voxels", "volume_ml", "suv_mean", "suv_sd", "suv_max", "suv_peak", "mtv_ml", "tlg", "cov", "auc_csh", "snr",
                  "method_version", "details", "created_by", "created_at"]


def _point() -> serializers.ListField:
    return serializers.ListField(child=serializers.FloatField(), min_length=3, max_length=3, required=False, allow_null=True)


class VoiCreateSerializer(ScopedRelatedFields, serializers.Serializer):
    scoped_related = {"series": Action.ADD}

    series = serializers.PrimaryKeyRelatedField(queryset=Series.objects.none())
    label = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    kind = serializers.ChoiceField(choices=VoiMeasurement.Kind.choices, default=VoiMeasurement.Kind.LESION)
    shape = serializers.ChoiceField(choices=VoiMeasurement.Shape.choices)
    centre_mm = _point()
    radius_mm = serializers.FloatField(required=False, allow_null=True, min_value=0.5, max_value=300)
    box_min_mm = _point()
    box_max_mm = _point()
    threshold = serializers.ChoiceField(choices=VoiMeasurement.Threshold.choices, default=VoiMeasurement.Threshold.PERCENT_41)
    # How SUVpeak's 1 cm³ sphere is placed, and the lean-body-mass formula of the SUL values (docs/physics.md).
    peak_method = serializers.ChoiceField(choices=[m.value for m in PeakMethod], default=PeakMethod.PERCIST.value)
    lbm_formula = serializers.ChoiceField(choices=[f.value for f in LbmFormula], default=LbmFormula.PETERS.value)

    def validate(self, attrs: dict) -> dict:
        if attrs["shape"] == VoiMeasurement.Shape.SPHERE:
            if attrs.get("centre_mm") is None:
                raise serializers.ValidationError({"centre_mm": [_("A sphere needs centre_mm.")]})
            if attrs.get("radius_mm") is None and attrs["kind"] != VoiMeasurement.Kind.LIVER:  # liver: 3 cm sphere by default
                raise serializers.ValidationError({"radius_mm": [_("A sphere needs radius_mm.")]})
        if attrs["shape"] == VoiMeasurement.Shape.BOX and (attrs.get("box_min_mm") is None or attrs.get("box_max_mm") is None):
            raise serializers.ValidationError({"box_min_mm": [_("A box needs box_min_mm and box_max_mm.")]})
        return attrs


class DoseResultViewSet(ScopedReadOnlyViewSet):
    """The radiation dose of each exam (study): administered activity, recommendation, radiopharmaceutical and CT dose."""

    scoped_queryset = DoseResult.objects.select_related("study")
    serializer_class = DoseResultSerializer
    filterset_fields = {"study": ["exact"], "study__patient__study_id": ["exact"], "tracer": ["exact"], "complete": ["exact"]}


class PatientDoseHistoryView(APIView):
    """Cumulative effective dose of one child over all their exams in the registry, exam by exam."""

    @extend_schema(responses=DoseHistorySerializer)
    def get(self, request: Request, study_id: str) -> Response:
        patient = Patient.objects.restrict(request.user, Action.VIEW).filter(study_id=study_id).first()
        if patient is None:
            raise exceptions.NotFound(_("No such patient."))
        return Response(DoseHistorySerializer(patient_dose_history(user=request.user, patient=patient)).data)


class SuvResultViewSet(ScopedReadOnlyViewSet):
    """SUV factors (bw, lbm, bsa) and the whole-series SUVmax of PET series, or why a series is not quantifiable."""

    scoped_queryset = SuvResult.objects.all()
    serializer_class = SuvResultSerializer
    filterset_fields = ["series", "series__study", "quantifiable"]


class PreviewViewSet(ScopedReadOnlyViewSet):
    """Preview PNGs of a series (coronal MIP, axial slices); `image` returns the PNG itself."""

    scoped_queryset = Preview.objects.all()
    serializer_class = PreviewSerializer
    filterset_fields = ["series", "kind"]

    @extend_schema(responses={(200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY)})
    @action(detail=True, methods=["get"])
    def image(self, request: Request, pk: str | None = None) -> HttpResponse:
        preview = self.get_object()
        response = HttpResponse(open_bytes(preview.storage_key), content_type="image/png")
        response["Cache-Control"] = "private, max-age=3600"
        return response


class VoiViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Volumes of interest placed by readers on PET series, with their SUV statistics (computed, never typed)."""

    scoped_queryset = VoiMeasurement.objects.select_related("created_by")
    serializer_class = VoiSerializer
    filterset_fields = ["series", "kind"]

    @extend_schema(request=VoiCreateSerializer, responses={201: VoiSerializer})
    def create(self, request: Request) -> Response:
        data = self.validated(VoiCreateSerializer)
        voi = voi_measure(actor=request.user, **data)
        return Response(VoiSerializer(voi).data, status=status.HTTP_201_CREATED)
