"""Blinded image-quality reading: sessions and results (data managers), assignments and cases (each reader)."""
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from imaging.models import Series
from imaging.reading import selectors
from imaging.reading.models import AssignmentCase, ReadingAssignment, ReadingSession, SessionItem
from imaging.reading.models.sessions import SCALES
from imaging.reading.services.sessions import ItemInput, LesionRead, assignment_case_score, reading_session_create
from imaging.volume import open_bytes
from registry.access import Action
from registry.api.base import ScopedModelViewSet, ScopedRelatedFields
from registry.models import User


# --- Data managers ----------------------------------------------------------------------------------
class SessionItemSerializer(serializers.ModelSerializer):
    series_uid = serializers.CharField(source="series.series_uid", read_only=True)
    patient = serializers.CharField(source="patient.study_id", read_only=True)

    class Meta:
        model = SessionItem
        fields = ["id", "series", "series_uid", "patient", "arm"]


class SessionAssignmentSerializer(serializers.ModelSerializer):
    reader = serializers.CharField(source="reader.username", read_only=True)
    cases = serializers.IntegerField(source="cases_total", read_only=True)
    scored = serializers.IntegerField(source="cases_scored", read_only=True)

    class Meta:
        model = ReadingAssignment
        fields = ["id", "reader", "cases", "scored", "completed_at"]


class SessionSerializer(serializers.ModelSerializer):
    items = SessionItemSerializer(many=True, read_only=True)
    assignments = SessionAssignmentSerializer(many=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = ReadingSession
        fields = ["id", "name", "instructions", "status", "purpose", "purpose_ref", "created_by", "created_at", "completed_at",
                  "items", "assignments"]


class ItemInputSerializer(serializers.Serializer):
    series = serializers.PrimaryKeyRelatedField(queryset=Series.objects.all())
    arm = serializers.CharField(max_length=40, help_text='Hidden from readers, e.g. "low-dose" or "standard-dose".')


class SessionCreateSerializer(ScopedRelatedFields, serializers.Serializer):
    name = serializers.CharField(max_length=120)
    instructions = serializers.CharField(required=False, allow_blank=True, default="",
                                         help_text="Shown to readers; must not name an arm.")
    items = ItemInputSerializer(many=True)
    readers = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.filter(is_active=True), many=True)

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Series the caller cannot see read as "does not exist".
            self.fields["items"].child.fields["series"].queryset = Series.objects.restrict(request.user, Action.VIEW)


class SessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Reading sessions, with their arms, readers and progress: data managers of the whole programme only."""

    serializer_class = SessionSerializer
    filterset_fields = ["status"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.session_list(user=self.request.user)

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionSerializer})
    def create(self, request: Request) -> Response:
        """Create a session: series with a hidden arm each (one per arm per patient) and the readers."""
        data = self.validated(SessionCreateSerializer)
        session = reading_session_create(
            actor=request.user, name=data["name"], instructions=data["instructions"], readers=data["readers"],
            items=[ItemInput(series=i["series"], arm=i["arm"]) for i in data["items"]])
        return Response(SessionSerializer(selectors.session_list(user=request.user).get(pk=session.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str | None = None) -> Response:
        """Scores per arm and the paired Wilcoxon signed-rank test per scale; refused until every read is in."""
        return Response(selectors.session_results(session=self.get_object()))


# --- Readers -----------------------------------------------------------------------------------------
class CaseImageSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    kind = serializers.CharField()
    url = serializers.CharField()


class CaseLesionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    site = serializers.CharField()
    centre_mm = serializers.ListField(child=serializers.FloatField(), allow_null=True, help_text="[x, y, z], LPS mm")
    seen = serializers.BooleanField(allow_null=True, help_text="Your call; null until you score the case")
    confidence = serializers.IntegerField(allow_null=True)


class CaseSerializer(serializers.ModelSerializer):
    """A case as its reader sees it: a neutral code, its images, the known lesions to judge and their own scores and
    calls; nothing about the series (no UID, description, dose) or its arm."""

    code = serializers.CharField(read_only=True)
    images = serializers.SerializerMethodField()
    lesions = serializers.SerializerMethodField()

    class Meta:
        model = AssignmentCase
        fields = ["position", "code", "images", *SCALES, "lesions", "scored_at"]

    @extend_schema_field(CaseLesionSerializer(many=True))
    def get_lesions(self, case: AssignmentCase) -> list[dict[str, object]]:
        return selectors.case_lesion_rows(case)

    @extend_schema_field(CaseImageSerializer(many=True))
    def get_images(self, case: AssignmentCase) -> list[dict[str, object]]:
        request = self.context.get("request")
        out = []
        for number, preview in enumerate(selectors.case_previews(case)):
            url = reverse("reading-assignment-case-image", args=[case.assignment_id, case.position, number])
            out.append({"number": number, "kind": preview.kind,
                        "url": request.build_absolute_uri(url) if request is not None else url})
        return out


class AssignmentSerializer(serializers.ModelSerializer):
    instructions = serializers.CharField(source="session.instructions", read_only=True)
    cases = CaseSerializer(many=True, read_only=True)

    class Meta:
        model = ReadingAssignment
        fields = ["id", "instructions", "completed_at", "cases"]


class LesionReadSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, help_text="The lesion's number in the case")
    seen = serializers.BooleanField()
    confidence = serializers.IntegerField(min_value=1, max_value=5, help_text="In your call: 1 = a guess, 5 = certain")


class ScoresSerializer(serializers.Serializer):
    overall_quality = serializers.IntegerField(min_value=1, max_value=5)
    noise = serializers.IntegerField(min_value=1, max_value=5, help_text="5 = least noise")
    lesion_conspicuity = serializers.IntegerField(min_value=1, max_value=5)
    diagnostic_confidence = serializers.IntegerField(min_value=1, max_value=5)
    lesions = LesionReadSerializer(many=True, required=False, default=list,
                                   help_text="Every lesion the case lists (none when it lists none)")


class AssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Your reading lists: every case in your own random order, blinded (no arm, dose or other readers' scores)."""

    serializer_class = AssignmentSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        # The cases' lesion lists, for the serializer (selectors.case_lesion_rows reads them from here).
        return selectors.assignment_list(user=self.request.user).prefetch_related("cases__lesion_reads", "session__lesions")

    def _case(self, position: int) -> AssignmentCase:
        assignment = self.get_object()
        selectors.require_blinding(user=self.request.user, assignment=assignment)
        return get_object_or_404(selectors.case_list(user=self.request.user).filter(assignment=assignment),
                                 position=position)

    def retrieve(self, request: Request, *args: object, **kwargs: object) -> Response:
        assignment = self.get_object()
        selectors.require_blinding(user=request.user, assignment=assignment)
        return Response(self.get_serializer(assignment).data)

    @extend_schema(request=None, responses=CaseSerializer)
    @action(detail=True, methods=["get"], url_path=r"cases/(?P<position>\d+)", url_name="case")
    def case(self, request: Request, pk: str | None = None, position: str = "") -> Response:
        return Response(CaseSerializer(self._case(int(position)), context={"request": request}).data)

    @extend_schema(request=None, responses={(200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY)})
    @action(detail=True, methods=["get"], url_path=r"cases/(?P<position>\d+)/images/(?P<number>\d+)",
            url_name="case-image")
    def case_image(self, request: Request, pk: str | None = None, position: str = "", number: str = "") -> HttpResponse:
        """A preview image of the case (coronal MIP first, then axial slices): pixels only, no header data."""
        previews = selectors.case_previews(self._case(int(position)))
        if int(number) >= len(previews):
            raise exceptions.NotFound(_("No such image."))
        response = HttpResponse(open_bytes(previews[int(number)].storage_key), content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(request=ScoresSerializer, responses=CaseSerializer)
    @case.mapping.put
    def score(self, request: Request, pk: str | None = None, position: str = "") -> Response:
        """Score a case on the four 5-point scales and call each listed lesion seen or not (you may change your answers
        until every read is in)."""
        case = self._case(int(position))
        data = self.validated(ScoresSerializer)
        lesions = [LesionRead(number=r["number"], seen=r["seen"], confidence=r["confidence"]) for r in data.pop("lesions")]
        case = assignment_case_score(actor=request.user, case=case, scores=data, lesions=lesions)
        return Response(CaseSerializer(case, context={"request": request}).data)
