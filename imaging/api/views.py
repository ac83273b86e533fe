"""Imaging API: uploads (multipart files and zips), and the scoped read side of studies, series, instances."""
from types import SimpleNamespace
from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from imaging.models import ImagingStudy, Instance, IntakeReceipt, Series, Upload
from imaging.pipeline import step_states
from imaging.services.acquisition import study_acquisition_update
from imaging.services.ingest import ingest, may_upload, with_upload_scope
from imaging.services.receipts import receipts_patient, receipts_receive
from imaging.services.review import study_release
from imaging.uploaded import RAW_BODY_PARSERS, incoming_file
from registry.access import Action
from registry.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet
from registry.api.deferred import prefers_async
from registry.api.serializers import KeysFirst, list_filtered, row_id_field, row_keys, rows_as
from registry.models import Patient
from registry.services.work import work_retry


class UploadSerializer(serializers.ModelSerializer):
    patient = serializers.CharField(source="patient.study_id", read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True)

    class Meta:
        model = Upload
        fields = ["id", "patient", "uploaded_by", "source", "trial_visit_id", "files_received", "accepted", "duplicates",
                  "conflicts", "quarantined", "rejected", "bytes_received", "items", "created_at", "finished_at"]


class IntakeReceiptSerializer(serializers.ModelSerializer):
    patient = serializers.CharField(source="patient.study_id", read_only=True)
    received_by = serializers.CharField(source="received_by.username", read_only=True)
    outcome = serializers.ListField(child=serializers.DictField(), read_only=True,
                                    help_text="The upload's items for this file once filed (several for a zip), else empty.")

    class Meta:
        model = IntakeReceipt
        fields = ["id", "patient", "received_by", "source", "trial_visit_id", "file", "size", "state", "received_at",
                  "filed_at", "upload", "outcome", "error_code", "error_message"]


class ReceiptsAnswerSerializer(serializers.Serializer):
    receipts = IntakeReceiptSerializer(many=True)


class UploadRequestSerializer(serializers.Serializer):
    patient = serializers.CharField(help_text="Platform study ID, e.g. BJYY-00042.")
    # Only the type is checked here; ingest checks that the visit is the patient's and inside the uploader's scope.
    trial_visit_id = row_id_field(required=False, allow_null=True,
                                              help_text="A trial visit (SubjectVisit id) of this patient, if any.")
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False, help_text=".dcm files and/or .zip archives",
                                  error_messages={"required": gettext_lazy("Attach at least one .dcm file or .zip archive."),
                                                  "empty": gettext_lazy("Attach at least one .dcm file or .zip archive.")})


class PipelineStepSerializer(serializers.Serializer):
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=["pending", "running", "done", "failed"])
    progress = serializers.IntegerField(min_value=0, max_value=100)
    error = serializers.CharField(allow_blank=True)
    finished_at = serializers.CharField(allow_null=True)
    result = serializers.JSONField(allow_null=True)


class SeriesSerializer(serializers.ModelSerializer):
    steps = serializers.SerializerMethodField(help_text="Every pipeline step in order, with its state and progress (0-100)")

    class Meta:
        model = Series
        fields = ["id", "series_uid", "modality", "description", "series_number", "number_of_instances",
                  "frame_of_reference_uid", "geometry", "pipeline_state", "pipeline_progress", "pipeline_error",
                  "steps", "study"]  # the stored pipeline_steps JSON is not repeated: `steps` lists the same states

    @extend_schema_field(PipelineStepSerializer(many=True))
    def get_steps(self, obj: Series) -> list[dict]:
        return step_states(obj)


class StudySerializer(serializers.ModelSerializer):
    patient = serializers.CharField(source="patient.study_id", read_only=True)
    series = SeriesSerializer(many=True, read_only=True)

    class Meta:
        model = ImagingStudy
        fields = ["id", "patient", "study_uid", "study_date", "modality_group", "tracer", "description", "status",
                  "hold_reasons", "patient_weight_kg", "patient_size_m", "trial_visit_id", "acquisition_protocol",
                  "acquisition_protocol_source", "sedation", "series", "created_at"]


class StudyAcquisitionSerializer(serializers.Serializer):
    """PATCH of a study: only its acquisition protocol and sedation may be changed by hand (the rest comes from the images)."""

    acquisition_protocol = serializers.ChoiceField(choices=ImagingStudy.AcquisitionProtocol.choices, required=False,
                                                   help_text="Set by hand, never replaced by the protocol the dose step infers.")
    sedation = serializers.ChoiceField(choices=ImagingStudy.Sedation.choices, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, help_text="Reason for the change (optional).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "acquisition_protocol" not in attrs and "sedation" not in attrs:
            raise serializers.ValidationError(gettext_lazy("Give the acquisition protocol, the sedation or both."))
        return attrs


class InstanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instance
        fields = ["id", "series", "sop_instance_uid", "sop_class_uid", "instance_number", "size", "sha256",
                  "quarantine_reason", "created_at"]


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Who checked, and why the images are this patient's.")


_RAW_QUERY_HELP = "With a raw application/dicom or application/zip body only: the form's `{}` field."


def patient_for_upload(request: Request, study_id: str) -> Patient:
    """404 when the patient is not visible to the uploader at all; 403 when visible but not theirs to add to."""
    if not study_id.isprintable():  # a NUL (from a STOW header or query) is no study ID, and PostgreSQL refuses it in a query
        raise exceptions.NotFound("No such patient.")
    # One query: the patient and whether it is the uploader's to add to (may_upload reads it; the ingest does not ask again).
    patient = with_upload_scope(Patient.objects.restrict(request.user, Action.VIEW).filter(study_id=study_id),
                                actor=request.user).first()
    if patient is None:
        raise exceptions.NotFound("No such patient.")
    if not may_upload(actor=request.user, patient=patient):
        raise exceptions.PermissionDenied("Your role does not allow uploading images for this patient.")
    return patient


class UploadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    scoped_queryset = Upload.objects.select_related("patient", "uploaded_by")
    serializer_class = UploadSerializer
    parser_classes = [MultiPartParser, *RAW_BODY_PARSERS]
    takes_deferred = True  # Prefer: respond-async (registry.api.deferred)
    filterset_fields = ["source"]

    @extend_schema(request={"multipart/form-data": UploadRequestSerializer, "application/dicom": OpenApiTypes.BINARY,
                            "application/zip": OpenApiTypes.BINARY},
                   parameters=[OpenApiParameter("patient", str, description=_RAW_QUERY_HELP.format("patient")),
                               OpenApiParameter("trial_visit_id", int, description=_RAW_QUERY_HELP.format("trial_visit_id"))],
                   responses={201: UploadSerializer, 202: ReceiptsAnswerSerializer})
    def create(self, request: Request) -> Response:
        """Upload DICOM files and zips for one patient; every file's outcome is in `items` (partial success is explicit).

        The files come as a multipart form, or one file as the whole body (`Content-Type: application/dicom` or
        `application/zip`, its name from Content-Disposition's filename if given) with `patient` and `trial_visit_id`
        in the query, as a forwarder sends one instance at a time.

        With `Prefer: respond-async` (RFC 7240) the files are acknowledged once spooled: 202, one receipt per file, each
        at `/api/v1/imaging/receipts/{id}/` with its outcome once filed, about a second later (docs/imaging/intake.md)."""
        data = self.validated(UploadRequestSerializer)
        if prefers_async(request):
            patient = receipts_patient(actor=request.user, study_id=data["patient"],
                                       find=lambda study_id: patient_for_upload(request, study_id))
            receipts = receipts_receive(actor=request.user, patient=patient, source=Upload.Source.API,
                                        files=[incoming_file(f) for f in data["files"]],
                                        trial_visit_id=data.get("trial_visit_id"))
            return Response({"receipts": [receipt_answer(r, patient=patient, user=request.user) for r in receipts]},
                            status=status.HTTP_202_ACCEPTED, headers={"Preference-Applied": "respond-async"})
        patient = patient_for_upload(request, data["patient"])
        upload = ingest(actor=request.user, patient=patient, files=[incoming_file(f) for f in data["files"]],
                        source=Upload.Source.API, trial_visit_id=data.get("trial_visit_id"))
        return Response(upload_answer(upload), status=status.HTTP_201_CREATED)


_WHEN = serializers.DateTimeField()


def upload_answer(upload: Upload) -> dict[str, Any]:
    """`UploadSerializer(upload).data`, written out: a ModelSerializer introspects its model's fields every time it is
    built, which cost a one-instance upload about a twentieth of its CPU (docs/performance.md). The same keys, values
    and formats; test_ingest_single pins it against the serializer, which stays the schema's and the list's."""
    def when(value: Any) -> Any:
        return None if value is None else _WHEN.to_representation(value)

    return {"id": upload.pk, "patient": upload.patient.study_id, "uploaded_by": upload.uploaded_by.username,
            "source": upload.source, "trial_visit_id": upload.trial_visit_id, "files_received": upload.files_received,
            "accepted": upload.accepted, "duplicates": upload.duplicates, "conflicts": upload.conflicts,
            "quarantined": upload.quarantined, "rejected": upload.rejected, "bytes_received": upload.bytes_received,
            "items": upload.items, "created_at": when(upload.created_at), "finished_at": when(upload.finished_at)}


def receipt_answer(receipt: IntakeReceipt, *, patient: Patient, user: Any) -> dict[str, Any]:
    """`IntakeReceiptSerializer(receipt).data`, written out for the receiving request (as upload_answer is, and for the
    same reason); test_receipts pins it against the serializer."""
    def when(value: Any) -> Any:
        return None if value is None else _WHEN.to_representation(value)

    return {"id": receipt.pk, "patient": patient.study_id, "received_by": user.username, "source": receipt.source,
            "trial_visit_id": receipt.trial_visit_id, "file": receipt.file, "size": receipt.size, "state": receipt.state,
            "received_at": when(receipt.received_at), "filed_at": when(receipt.filed_at), "upload": receipt.upload_id,
            "outcome": receipt.outcome, "error_code": receipt.error_code, "error_message": receipt.error_message}


class IntakeReceiptViewSet(ScopedReadOnlyViewSet):
    """Receipts of deferred uploads (`Prefer: respond-async`): what became of each file once filed."""

    scoped_queryset = IntakeReceipt.objects.select_related("patient", "received_by")
    serializer_class = IntakeReceiptSerializer
    filterset_fields = ["state", "source", "upload"]


class StudyViewSet(ScopedReadOnlyViewSet):
    scoped_queryset = ImagingStudy.objects.select_related("patient").prefetch_related("series")
    serializer_class = StudySerializer
    filterset_fields = ["status", "tracer", "modality_group", "patient__study_id"]
    ordering_fields = ["study_date", "created_at"]

    def list(self, request: Request) -> Response:
        # (Not a docstring, which would replace the operation's description in the OpenAPI schema.) Rows from values()
        # in StudySerializer's shape: the page's studies, then their series in one query (the prefetch and two
        # nested serializers per study cost more than the queries themselves).
        rows = list_filtered(self, self.get_queryset())
        page = self.paginate_queryset(KeysFirst(rows, lambda sliced: sliced.values(*row_keys(StudySerializer))))
        return self.get_paginated_response(_study_rows(page or []))

    @extend_schema(request=StudyAcquisitionSerializer, responses=StudySerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Set the exam's acquisition protocol and/or the child's sedation by hand (coordinators, investigators and data
        managers of the study's hospital; audited)."""
        study = study_acquisition_update(actor=request.user, study=self.get_object(), **self.validated(StudyAcquisitionSerializer))
        return Response(StudySerializer(self.get_queryset().get(pk=study.pk)).data)

    @extend_schema(request=ReleaseSerializer, responses=StudySerializer)
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str | None = None) -> Response:
        """Confirm that a study put on hold by the wrong-patient guard belongs to this patient, and publish it."""
        study = study_release(actor=request.user, study=self.get_object(), reason=self.validated(ReleaseSerializer)["reason"])
        return Response(StudySerializer(study).data)


def _study_rows(studies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Studies (values() rows) with their series, as StudySerializer writes them; one query for every series."""
    if not studies:
        return []
    series: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in studies}
    keys = row_keys(SeriesSerializer)
    found = Series.objects.filter(study_id__in=series).values(*keys, "pipeline_steps")  # the studies' own series
    for row in rows_as(SeriesSerializer, found, steps=lambda row: step_states(SimpleNamespace(**row))):
        series[row["study"]].append(row)
    return rows_as(StudySerializer, studies, series=lambda row: series[row["id"]])


class SeriesViewSet(ScopedReadOnlyViewSet):
    scoped_queryset = Series.objects.all()
    serializer_class = SeriesSerializer
    filterset_fields = ["modality", "pipeline_state", "study"]

    @extend_schema(request=None, responses={202: SeriesSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Run the failed and remaining pipeline steps again: a failed pipeline, or one whose worker stopped (running, lease expired); audited."""
        series = work_retry(actor=request.user, row=self.get_object())
        return Response(SeriesSerializer(series).data, status=status.HTTP_202_ACCEPTED)


class InstanceViewSet(ScopedReadOnlyViewSet):
    scoped_queryset = Instance.objects.all()
    serializer_class = InstanceSerializer
    filterset_fields = ["series", "quarantine_reason"]

