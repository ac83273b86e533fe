"""Consent documents (published by data managers), signed consents and withdrawals, and their stored files."""
from typing import Any

from django.db.models.fields.files import FieldFile
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import Action, Rule, reach
from registry.api.base import ScopedModelViewSet, ScopedRelatedFields
from registry.api.downloads import FILE_RESPONSE, download, download_url
from registry.api.filters import FilterSet
from registry.api.parsers import JSONParser
from registry.models import ConsentDocument, ConsentRecord, ConsentWithdrawal, Patient
from registry.selectors import consent_document_list, consent_record_list
from registry.services.consent import (
    consent_document_create,
    consent_document_pdf_download,
    consent_record_create,
    consent_signature_page_download,
    consent_withdraw,
)
from registry.web.downloads import document_pdf_response, signature_page_response

PARSERS = [JSONParser, MultiPartParser, FormParser]


class ConsentDocumentPdfField(serializers.FileField):
    """Uploaded with the document; read back as the URL of its `pdf` action, or null when none was published."""

    def to_representation(self, value: FieldFile) -> str | None:
        return download_url(self.context, "consent-document-pdf", value.instance.pk) if value else None


class ConsentDocumentSerializer(serializers.ModelSerializer):
    pdf = ConsentDocumentPdfField(max_length=100, required=False, allow_null=True)

    class Meta:
        model = ConsentDocument
        fields = ["id", "scope", "trial_id", "version", "language", "title", "ethics_approval_number",
                  "ethics_approval_date", "effective_from", "effective_to", "assent_age_years", "requires_reconsent",
                  "pdf", "created_at"]
        read_only_fields = ["id", "created_at"]


class WithdrawalSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentWithdrawal
        fields = ["withdrawn_on", "scope", "reason", "created_at"]
        read_only_fields = ["created_at"]


class ConsentRecordSerializer(serializers.ModelSerializer):
    patient = serializers.CharField(source="patient.study_id", read_only=True)
    document_version = serializers.CharField(source="document.version", read_only=True)
    withdrawal = WithdrawalSerializer(read_only=True, allow_null=True)
    signature_page = serializers.SerializerMethodField()

    class Meta:
        model = ConsentRecord
        fields = ["id", "patient", "document", "document_version", "signer", "guardian1_relationship",
                  "guardian2_relationship", "assent", "signed_date", "witnessed_by", "signature_page", "withdrawal",
                  "created_at"]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_signature_page(self, record: ConsentRecord) -> str | None:
        """The URL of the scanned signature page, for staff of the patient's own hospital (Rule.READ_SIGNED_CONSENT)."""
        request = self.context.get("request")
        readable = reach(request.user if request else None, Rule.READ_SIGNED_CONSENT).covers(hospital_id=record.patient.hospital_id)
        return download_url(self.context, "consent-signature-page", record.pk) if record.signature_page and readable else None


class ConsentRecordCreateSerializer(ScopedRelatedFields, serializers.Serializer):
    scoped_related = {"patient": Action.ADD}

    patient = serializers.SlugRelatedField(slug_field="study_id", queryset=Patient.objects.none())
    document = serializers.PrimaryKeyRelatedField(queryset=ConsentDocument.objects.all())
    signer = serializers.ChoiceField(choices=ConsentRecord.Signer.choices, default=ConsentRecord.Signer.GUARDIAN)
    guardian1_relationship = serializers.ChoiceField(choices=ConsentRecord.Relationship.choices, required=False,
                                                     allow_blank=True, default="")
    guardian2_relationship = serializers.ChoiceField(choices=ConsentRecord.Relationship.choices, required=False,
                                                     allow_blank=True, default="")
    assent = serializers.ChoiceField(choices=ConsentRecord.Assent.choices)
    signed_date = serializers.DateField()
    witnessed_by = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    signature_page = serializers.FileField(required=False)


class ConsentDocumentViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                             ScopedModelViewSet):
    serializer_class = ConsentDocumentSerializer
    parser_classes = PARSERS
    filterset_fields = ["scope", "trial_id", "language", "requires_reconsent"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return consent_document_list(user=self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = consent_document_create(actor=self.request.user, pdf=data.pop("pdf", None), **data)

    @extend_schema(responses=FILE_RESPONSE)
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk: str | None = None) -> Any:
        """The approved form's PDF; every download is recorded in the audit trail."""
        document = self.get_object()
        file = download(consent_document_pdf_download, actor=request.user, document=document)
        return document_pdf_response(document, file)


class ConsentRecordFilter(FilterSet):
    patient = filters.CharFilter(field_name="patient__study_id")
    withdrawn = filters.BooleanFilter(field_name="withdrawal", lookup_expr="isnull", exclude=True)

    class Meta:
        model = ConsentRecord
        fields = ["patient", "document", "signer"]


class ConsentRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    serializer_class = ConsentRecordSerializer
    parser_classes = PARSERS
    filterset_class = ConsentRecordFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return consent_record_list(user=self.request.user)

    @extend_schema(request=ConsentRecordCreateSerializer, responses={201: ConsentRecordSerializer})
    def create(self, request: Request) -> Response:
        record = consent_record_create(actor=request.user, **self.validated(ConsentRecordCreateSerializer))
        return Response(ConsentRecordSerializer(self.get_queryset().get(pk=record.pk), context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=WithdrawalSerializer, responses={201: ConsentRecordSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw this consent from a date, with a reason and a scope; nothing is deleted."""
        record = self.get_object()
        consent_withdraw(actor=request.user, consent=record, **self.validated(WithdrawalSerializer))
        return Response(ConsentRecordSerializer(self.get_queryset().get(pk=record.pk), context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses=FILE_RESPONSE)
    @action(detail=True, methods=["get"], url_path="signature-page", url_name="signature-page")
    def signature_page(self, request: Request, pk: str | None = None) -> Any:
        """The scanned signature page, for staff of the patient's own hospital; every download is recorded in the audit trail."""
        record = self.get_object()
        file = download(consent_signature_page_download, actor=request.user, record=record)
        return signature_page_response(record, file)

