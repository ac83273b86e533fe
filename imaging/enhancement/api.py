"""Enhancement API: models (list, detail, register with a multipart upload) and runs (list, detail). Thin: an input
serializer, then the service."""
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from imaging.enhancement import services
from imaging.enhancement.models import EnhancementModel, EnhancementRun, Normalisation
from imaging.models import Series
from registry.access import Action
from registry.api.base import ScopedModelViewSet, ScopedRelatedFields


class ModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = EnhancementModel
        fields = ["id", "name", "version", "sha256", "size", "modality", "tracer", "units", "voxel_size_mm",
                  "voxel_tolerance_mm", "max_activity_mbq_per_kg", "normalisation", "body_mask_fraction", "active",
                  "description", "registered_at"]
        read_only_fields = fields


class ModelRegisterSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The ONNX model file (one float32 input 1x1xDxHxW, one output of the same shape)")
    sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$", help_text="SHA-256 of the file, checked on upload")
    name = serializers.CharField(max_length=100)
    version = serializers.CharField(max_length=40)
    modality = serializers.CharField(max_length=4, default="PT")
    tracer = serializers.CharField(max_length=32, default="", allow_blank=True)
    units = serializers.CharField(max_length=16, default="BQML")
    voxel_size_mm = serializers.ListField(child=serializers.FloatField(min_value=0.01), min_length=3, max_length=3)
    voxel_tolerance_mm = serializers.FloatField(min_value=0, default=0.1)
    max_activity_mbq_per_kg = serializers.FloatField(min_value=0)
    normalisation = serializers.ChoiceField(choices=Normalisation.choices, default=Normalisation.BODY_MEAN)
    body_mask_fraction = serializers.FloatField(min_value=0, max_value=1, default=0.05)
    description = serializers.CharField(default="", allow_blank=True)


class RunSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.label")

    class Meta:
        model = EnhancementRun
        fields = ["id", "model", "source", "derived", "outcome", "reason", "seconds", "provider", "created_at"]
        read_only_fields = fields


class EnhanceAgainSerializer(ScopedRelatedFields, serializers.Serializer):
    scoped_related = {"series": Action.CHANGE}
    series = serializers.PrimaryKeyRelatedField(queryset=Series.objects.none(), help_text="A series whose pipeline is done")


class EnhanceAgainResultSerializer(serializers.Serializer):
    series = serializers.IntegerField(source="pk")
    pipeline_state = serializers.CharField()


class ModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Registered enhancement models: every hospital member sees them; a data manager of every hospital registers one."""

    scoped_queryset = EnhancementModel.objects.all()
    serializer_class = ModelSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request={"multipart/form-data": ModelRegisterSerializer}, responses={201: ModelSerializer})
    def create(self, request: Request) -> Response:
        values: dict[str, Any] = self.validated(ModelRegisterSerializer)
        model = services.model_register(actor=request.user, **values)
        return Response(ModelSerializer(model).data, status=status.HTTP_201_CREATED)


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """What each model did on each series you may see: the derived series, or why it refused."""

    scoped_queryset = EnhancementRun.objects.all()
    serializer_class = RunSerializer

    def get_queryset(self) -> QuerySet[EnhancementRun]:
        return super().get_queryset().select_related("model")

    @extend_schema(request=EnhanceAgainSerializer, responses={202: EnhanceAgainResultSerializer})
    @action(detail=False, methods=["post"], url_path="enhance-again")
    def enhance_again(self, request: Request) -> Response:
        """Run the active models on a series analysed before they were registered (its enhance step is queued again)."""
        series = services.series_enhance_again(actor=request.user, **self.validated(EnhanceAgainSerializer))
        return Response(EnhanceAgainResultSerializer(series).data, status=status.HTTP_202_ACCEPTED)


router = SimpleRouter()
router.register("models", ModelViewSet, basename="enhancement-model")
router.register("runs", RunViewSet, basename="enhancement-run")
urlpatterns = router.urls
