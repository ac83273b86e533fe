"""Report runs: request (kind + parameters), list and detail with progress and files, JSON result, audited downloads."""
from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from registry.api.base import ScopedModelViewSet
from registry.errors import ApplicationError
from reports.kinds import report_kinds
from reports.models import ReportFile, ReportRun
from reports.selectors import report_run_list
from reports.services import report_file_download, report_run_request

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "svg": "image/svg+xml",
}


class ReportFileSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReportFile
        fields = ["name", "format", "size", "sha256", "rows", "download_url"]

    def get_download_url(self, file: ReportFile) -> str:
        return reverse("report-run-download", args=[file.run_id, file.name], request=self.context.get("request"))


class ReportRunSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    files = ReportFileSerializer(many=True, read_only=True)

    class Meta:
        model = ReportRun
        fields = ["id", "kind", "params", "trial", "status", "progress", "row_counts", "error", "error_code", "attempts", "requested_by",
                  "created_at", "started_at", "generated_at", "files"]


class ReportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[])
    params = serializers.JSONField(required=False, help_text=(
        "cohort: as_of (YYYY-MM-DD, default today), hospitals (codes; default every hospital you may report on), "
        "diagnosis_from, diagnosis_to. trial: trial (id or code), as_of. diagnostic: comparison (id), as_of. "
        "extract (data managers): as_of."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The kinds (and their builders, which import pandas) load with the first request, not with the URLconf.
        self.fields["kind"].choices = [(k.name, k.title) for k in report_kinds()]


class ReportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    serializer_class = ReportRunSerializer
    filterset_fields = ["kind", "status", "trial"]
    ordering_fields = ["created_at", "generated_at"]
    search_fields: list[str] = []

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return report_run_list(user=self.request.user)

    @extend_schema(request=ReportRequestSerializer, responses={202: ReportRunSerializer})
    def create(self, request: Request) -> Response:
        """Request a report; it is built in the background (poll the run for status and progress)."""
        data = self.validated(ReportRequestSerializer)
        run = report_run_request(actor=request.user, kind=data["kind"], params=data.get("params"))
        return Response(ReportRunSerializer(run, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def result(self, request: Request, pk: str | None = None) -> Response:
        """The report as JSON: its sections as tables (columns and rows), notes and parameters."""
        run = self.get_object()
        if run.status != ReportRun.Status.SUCCEEDED:
            raise ApplicationError("The report is not ready.", code="report_not_ready")
        return Response(run.result)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)})
    @action(detail=True, methods=["get"], url_path=r"files/(?P<name>[A-Za-z0-9_.-]+)", url_name="download")
    def download(self, request: Request, pk: str | None = None, name: str = "") -> Any:
        """One file of the run (a section's CSV, the XLSX or the PDF); every download is recorded in the audit trail."""
        file = report_file_download(actor=request.user, run=self.get_object(), name=name)
        response = FileResponse(default_storage.open(file.storage_key, "rb"), as_attachment=True, filename=file.name,
                                content_type=CONTENT_TYPES.get(file.format, "application/octet-stream"))
        response["X-Content-SHA256"] = file.sha256
        return response


class ExtractDictionaryView(APIView):
    """The data dictionary of the de-identified extract (table, column, type, description, code list): data managers only."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        from reports.exports.definitions import TABLES
        from reports.exports.extract import authorise, dictionary

        authorise(request.user, {})  # 403 for anyone but a data manager, as a request for the extract
        return Response({"tables": [{"name": t.name, "description": t.description} for t in TABLES], "columns": dictionary()})
