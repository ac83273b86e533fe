"""Low-dose evaluation API: protocols (list, define), pairs (find in a study, assign by hand, detail with metrics),
dose saved per PET exam and the programme summary. Thin: input serializers, then the services."""
from dataclasses import asdict
from typing import Any

from django.db.models import QuerySet
from django.urls import path
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from imaging.lowdose import dose_saving, services
from imaging.lowdose.models import EvaluationPair, EvaluationProtocol, PairMetrics, SeriesRole
from imaging.lowdose.reader_study import (
    latest_complete_session,
    protocol_sessions,
    reader_study_create,
    session_results,
    session_statuses,
)
from imaging.models import ImagingStudy, Series
from imaging.reading.api.sessions import SessionSerializer
from imaging.reading.models import ReadingSession
from registry.access import Action, may
from registry.api.base import ScopedModelViewSet, ScopedRelatedFields, query_input
from registry.api.serializers import row_id_field
from registry.models import User


class ProtocolSerializer(serializers.ModelSerializer):
    acceptance_criteria = serializers.JSONField(default=list, help_text='Image metrics judged per pair, and reader-study criteria judged by '
                                                                        'non-inferiority over the study: [{"metric": "voi_suv_max_bias_percent", '
                                                                        '"max_abs": 10}, {"metric": "ssim", "min": 0.9}, '
                                                                        '{"reader": "overall_quality", "non_inferiority_margin": -0.5}]')

    class Meta:
        model = EvaluationProtocol
        fields = ["id", "name", "reference_role", "test_role", "acceptance_criteria", "description", "created_at"]
        read_only_fields = ["id", "created_at"]


class MetricsSerializer(serializers.ModelSerializer):
    class Meta:
        model = PairMetrics
        exclude = ["id", "pair"]


class PairSerializer(serializers.ModelSerializer):
    study = serializers.IntegerField(source="reference.study_id", read_only=True)
    metrics = MetricsSerializer(read_only=True, allow_null=True)

    class Meta:
        model = EvaluationPair
        fields = ["id", "protocol", "study", "reference", "test", "source", "status", "progress", "error", "error_code", "created_at",
                  "finished_at", "metrics"]


class PairAssignSerializer(ScopedRelatedFields, serializers.Serializer):
    scoped_related = {"protocol": Action.VIEW, "reference": Action.VIEW, "test": Action.VIEW}
    protocol = serializers.PrimaryKeyRelatedField(queryset=EvaluationProtocol.objects.none())
    reference = serializers.PrimaryKeyRelatedField(queryset=Series.objects.none())
    test = serializers.PrimaryKeyRelatedField(queryset=Series.objects.none())


class PairFindSerializer(ScopedRelatedFields, serializers.Serializer):
    scoped_related = {"protocol": Action.VIEW, "study": Action.VIEW}
    protocol = serializers.PrimaryKeyRelatedField(queryset=EvaluationProtocol.objects.none())
    study = serializers.PrimaryKeyRelatedField(queryset=ImagingStudy.objects.none())


class PairFindResultSerializer(serializers.Serializer):
    roles = serializers.DictField(child=serializers.ChoiceField(choices=SeriesRole.choices), help_text="series id -> role found")
    pairs = PairSerializer(many=True)


class ReaderStudySerializer(serializers.Serializer):
    readers = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.filter(is_active=True), many=True,
                                           help_text="Readers blind to the series: none may work at a child's hospital")
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    instructions = serializers.CharField(required=False, allow_blank=True, default="", help_text="Shown to readers; must not name an arm")
    evaluated_only = serializers.BooleanField(default=True, help_text="Only pairs whose evaluation succeeded")


class ReaderCriterionSerializer(serializers.Serializer):
    criterion = serializers.CharField()
    label = serializers.CharField()
    n = serializers.IntegerField(help_text="children with a value in both arms")
    reference_median = serializers.FloatField(allow_null=True)
    reference_iqr = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    test_median = serializers.FloatField(allow_null=True)
    test_iqr = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    median_difference = serializers.FloatField(allow_null=True, help_text="Hodges-Lehmann estimate of test - reference")
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    wilcoxon_p = serializers.FloatField(allow_null=True)
    agreement = serializers.FloatField(allow_null=True)
    agreement_method = serializers.CharField()


class ReaderResultsSerializer(serializers.Serializer):
    session = serializers.IntegerField(allow_null=True, help_text="The complete session the criteria come from")
    sessions = serializers.ListField(child=serializers.DictField(), help_text="Every reader study of the protocol: id, status")
    criteria = ReaderCriterionSerializer(many=True)


class ProtocolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Evaluation protocols: every hospital member sees them; a data manager of every hospital defines them."""

    scoped_queryset = EvaluationProtocol.objects.all()
    serializer_class = ProtocolSerializer

    @extend_schema(request=ProtocolSerializer, responses={201: ProtocolSerializer})
    def create(self, request: Request) -> Response:
        protocol = services.protocol_create(actor=request.user, **self.validated(ProtocolSerializer))
        return Response(ProtocolSerializer(protocol).data, status=status.HTTP_201_CREATED)

    # --- Reader study (issue 18 item 2) ---
    @extend_schema(request=ReaderStudySerializer, responses={201: SessionSerializer})
    @action(detail=True, methods=["post"], url_path="reader-study", url_name="reader-study")
    def reader_study(self, request: Request, pk: str | None = None) -> Response:
        """A blinded reading session over the protocol's pairs (one per child): arms = its reference and test roles,
        hidden from the readers; the reference series' lesion VOIs are called seen / not seen in every case."""
        protocol = self.get_object()
        if not may(request.user, Action.ADD, ReadingSession):
            raise PermissionDenied(gettext("Only data managers of the whole programme create reader studies."))
        session = reader_study_create(actor=request.user, protocol=protocol, **self.validated(ReaderStudySerializer))
        # Read back through the scoped list (its prefetches), like the reading API's own create.
        created = next(s for s in protocol_sessions(protocol, user=request.user) if s.pk == session.pk)
        return Response(SessionSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ReaderResultsSerializer})
    @action(detail=True, methods=["get"], url_path="reader-results", url_name="reader-results")
    def reader_results(self, request: Request, pk: str | None = None) -> Response:
        """Per criterion (four quality scales, lesion detection rate and confidence) the reference and test medians, the
        Hodges-Lehmann difference with its 95 % interval, the Wilcoxon signed-rank p and the inter-reader agreement,
        from the protocol's latest complete reader study (criteria empty until one is complete)."""
        protocol = self.get_object()
        if not may(request.user, Action.VIEW, ReadingSession):
            raise PermissionDenied(gettext("Reader results name the arms: data managers of the whole programme only."))
        session = latest_complete_session(protocol)
        return Response({"session": session.pk if session else None, "sessions": session_statuses(protocol, user=request.user),
                         "criteria": session_results(session, protocol) if session else []})


class PairViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Pairs at your hospitals with their status and metrics; data managers of the child's hospital assign or find them."""

    scoped_queryset = EvaluationPair.objects.select_related("reference", "metrics")
    serializer_class = PairSerializer
    filterset_fields = ["protocol", "status"]

    @extend_schema(request=PairAssignSerializer, responses={201: PairSerializer})
    def create(self, request: Request) -> Response:
        pair = services.pair_assign(actor=request.user, **self.validated(PairAssignSerializer))
        return Response(PairSerializer(self.get_queryset().get(pk=pair.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PairFindSerializer, responses={200: PairFindResultSerializer})
    @action(detail=False, methods=["post"])
    def find(self, request: Request) -> Response:
        """Pair the study's PET series by injected activity, frame duration and DerivationDescription; new pairs are queued."""
        if not may(request.user, Action.ADD, EvaluationPair):
            raise PermissionDenied(gettext("Your role does not allow adding this."))
        pairs, roles = services.pairs_find(actor=request.user, **self.validated(PairFindSerializer))
        rows = self.get_queryset().filter(pk__in=[p.pk for p in pairs])
        return Response({"roles": {str(k): v for k, v in roles.items()}, "pairs": PairSerializer(rows, many=True).data})


class DoseSavingSerializer(serializers.Serializer):
    study_id = serializers.IntegerField()
    tracer = serializers.CharField()
    hospital = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    received_msv = serializers.FloatField(allow_null=True)
    standard_activity_mbq = serializers.FloatField(allow_null=True)
    standard_msv = serializers.FloatField(allow_null=True)
    saving_msv = serializers.FloatField(allow_null=True)
    saving_percent = serializers.FloatField(allow_null=True, help_text="saving_msv as a percentage of standard_msv")
    protocol = serializers.ChoiceField(choices=ImagingStudy.AcquisitionProtocol.choices, help_text="the exam's acquisition protocol")
    sedation = serializers.ChoiceField(choices=ImagingStudy.Sedation.choices)
    not_available_reason = serializers.CharField()


class DoseSavingQuery(serializers.Serializer):
    study = row_id_field(required=False, help_text="One imaging study")


class DoseSummarySerializer(serializers.Serializer):
    tracer = serializers.CharField()
    hospital = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    exams = serializers.IntegerField()
    exams_unknown = serializers.IntegerField()
    total_saving_msv = serializers.FloatField(allow_null=True)
    median_saving_msv = serializers.FloatField(allow_null=True)
    median_saving_percent = serializers.FloatField(allow_null=True)
    protocol_standard = serializers.IntegerField(help_text="exams of the group (saving known or not) by acquisition protocol")
    protocol_low_dose = serializers.IntegerField()
    protocol_short_scan = serializers.IntegerField()
    protocol_unknown = serializers.IntegerField()
    sedation_none = serializers.IntegerField(help_text="exams of the group by sedation")
    sedation_sedation = serializers.IntegerField()
    sedation_general_anaesthesia = serializers.IntegerField()
    sedation_not_recorded = serializers.IntegerField()


def _doses(request: Request) -> QuerySet[Any]:
    doses = dose_saving.pet_doses(request.user)
    study = query_input(request, DoseSavingQuery).get("study")
    return doses.filter(study_id=study) if study else doses


class DoseSavingView(APIView):
    """Per PET exam you may see: effective dose received vs the dosage table's recommended activity for the child's weight."""

    @extend_schema(parameters=[DoseSavingQuery], responses={200: DoseSavingSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(DoseSavingSerializer([asdict(dose_saving.dose_saving(d)) for d in _doses(request)], many=True).data)


class DoseSavingSummaryView(APIView):
    """Total and median saving per tracer, hospital and year, over the PET exams you may see."""

    @extend_schema(responses={200: DoseSummarySerializer(many=True)})
    def get(self, request: Request) -> Response:
        rows = dose_saving.dose_saving_summary(dose_saving.dose_saving(d) for d in dose_saving.pet_doses(request.user))
        return Response(DoseSummarySerializer(rows, many=True).data)


router = SimpleRouter()
router.register("protocols", ProtocolViewSet, basename="lowdose-protocol")
router.register("pairs", PairViewSet, basename="lowdose-pair")

urlpatterns = [
    path("dose-savings/", DoseSavingView.as_view(), name="lowdose-dose-savings"),
    path("dose-savings/summary/", DoseSavingSummaryView.as_view(), name="lowdose-dose-savings-summary"),
    *router.urls,
]
