"""DICOM network API: the hospitals' registered senders, the unmatched queue (assign / discard) and scheduled exams
(the Modality Worklist). Thin: input serializers, then the services of imaging.services.network."""
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from imaging.api.views import UploadSerializer, patient_for_upload
from imaging.models import DicomNode, ScheduledExam, UnmatchedInstance
from imaging.services.network import (
    dicom_node_register,
    scheduled_exam_schedule,
    unmatched_assign,
    unmatched_discard,
    unmatched_identity,
)
from nucmed.radiopharmaceuticals import CHOICES as TRACER_CHOICES
from registry.access import Action, Rule, may
from registry.api.base import ScopedModelViewSet
from registry.api.serializers import row_id_field
from registry.models import Hospital


class DicomNodeSerializer(serializers.ModelSerializer):
    hospital = serializers.CharField(source="hospital.code", read_only=True)

    class Meta:
        model = DicomNode
        fields = ["id", "hospital", "ae_title", "address", "description", "active", "created_at"]


class DicomNodeRequestSerializer(serializers.Serializer):
    hospital = serializers.CharField(max_length=8, help_text="Hospital code, e.g. BJYY.")
    ae_title = serializers.CharField(max_length=16, help_text="The sender's calling AE title.")
    address = serializers.IPAddressField(required=False, allow_null=True, help_text="When set, associations must come from it.")
    description = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class DicomNodeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    scoped_queryset = DicomNode.objects.select_related("hospital")
    serializer_class = DicomNodeSerializer

    @extend_schema(request=DicomNodeRequestSerializer, responses={201: DicomNodeSerializer})
    def create(self, request: Request) -> Response:
        """Register a scanner or PACS of a hospital by its calling AE title (data managers)."""
        data = self.validated(DicomNodeRequestSerializer)
        hospital = Hospital.objects.restrict(request.user, Action.VIEW).filter(code=data.pop("hospital")).first()
        if hospital is None:
            raise NotFound("No such hospital.")
        node = dicom_node_register(actor=request.user, hospital=hospital, **data)
        return Response(DicomNodeSerializer(node).data, status=status.HTTP_201_CREATED)


class UnmatchedSerializer(serializers.ModelSerializer):
    sender = serializers.CharField(source="node.ae_title", read_only=True)
    sent_as = serializers.SerializerMethodField(help_text="PatientID, PatientName and AccessionNumber as the sender gave them; "
                                                          "only for staff of the sending hospital")

    class Meta:
        model = UnmatchedInstance
        fields = ["id", "sender", "association", "cause", "sent_as", "study_uid", "series_uid", "modality", "study_date", "state",
                  "reason", "upload", "received_at", "resolved_at"]

    def get_sent_as(self, obj: UnmatchedInstance) -> dict[str, str] | None:
        user = self.context["request"].user
        return unmatched_identity(obj) if may(user, Rule.READ_RECEIVED_IDENTITY, obj) else None


class AssignSerializer(serializers.Serializer):
    ids = serializers.ListField(child=row_id_field(), allow_empty=False, max_length=5000)
    patient = serializers.CharField(max_length=20, help_text="Platform study ID of the patient the instances are.")


class DiscardSerializer(serializers.Serializer):
    ids = serializers.ListField(child=row_id_field(), allow_empty=False, max_length=5000)
    reason = serializers.CharField(max_length=200)


class UnmatchedViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    scoped_queryset = UnmatchedInstance.objects.select_related("node")
    serializer_class = UnmatchedSerializer
    filterset_fields = ["state", "study_uid"]

    @extend_schema(request=AssignSerializer, responses={201: UploadSerializer})
    @action(detail=False, methods=["post"])
    def assign(self, request: Request) -> Response:
        """File waiting instances under a patient of the sending hospital, through the ingest (its outcome per file)."""
        data = self.validated(AssignSerializer)
        patient = patient_for_upload(request, data["patient"])
        upload = unmatched_assign(actor=request.user, ids=data["ids"], patient=patient)
        return Response(UploadSerializer(upload).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DiscardSerializer, responses={200: inline_serializer("UnmatchedDiscarded", {"discarded": serializers.IntegerField()})})
    @action(detail=False, methods=["post"])
    def discard(self, request: Request) -> Response:
        """Discard waiting instances with a reason (the rows stay, the received files are removed)."""
        data = self.validated(DiscardSerializer)
        return Response({"discarded": unmatched_discard(actor=request.user, ids=data["ids"], reason=data["reason"])})


class ScheduledExamSerializer(serializers.ModelSerializer):
    patient = serializers.CharField(source="patient.study_id", read_only=True)

    class Meta:
        model = ScheduledExam
        fields = ["id", "patient", "trial_visit", "scheduled_for", "tracer", "modality", "station_ae_title", "accession_number",
                  "weight_kg", "recommended_mbq", "recommendation_note", "state", "study", "created_at"]


class ScheduleRequestSerializer(serializers.Serializer):
    patient = serializers.CharField(max_length=20, help_text="Platform study ID.")
    scheduled_for = serializers.DateTimeField()
    tracer = serializers.ChoiceField(choices=[code for code, _label in TRACER_CHOICES])
    modality = serializers.CharField(max_length=16)
    station_ae_title = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    trial_visit_id = row_id_field(required=False, allow_null=True)
    weight_kg = serializers.FloatField(required=False, allow_null=True, min_value=0.5, max_value=300,
                                       help_text="Default: the weight at the last visit that recorded one.")


class ScheduledExamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    scoped_queryset = ScheduledExam.objects.select_related("patient")
    serializer_class = ScheduledExamSerializer
    filterset_fields = ["state", "modality", "station_ae_title"]

    @extend_schema(request=ScheduleRequestSerializer, responses={201: ScheduledExamSerializer})
    def create(self, request: Request) -> Response:
        """Schedule an imaging exam: a Modality Worklist item with the activity recommended for the child's weight."""
        data = self.validated(ScheduleRequestSerializer)
        patient = patient_for_upload(request, data.pop("patient"))
        exam = scheduled_exam_schedule(actor=request.user, patient=patient, **data)
        return Response(ScheduledExamSerializer(exam).data, status=status.HTTP_201_CREATED)
