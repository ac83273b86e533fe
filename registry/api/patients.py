"""Patients, their identity (own-hospital staff only) and their outcome."""
from datetime import MAXYEAR, MINYEAR
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from registry import codelists as cl
from registry.access import Action
from registry.api.base import ScopedModelViewSet, ScopedRelatedFields
from registry.api.filters import FilterSet
from registry.api.serializers import KeysFirst, list_filtered, row_keys, rows_as
from registry.consent_rules import consent_state
from registry.models import Hospital, Patient, PatientIdentity
from registry.selectors import outcomes, patient_list, patient_page_rows
from registry.services.patients import identity_read, identity_update, patient_register, patient_update

CLINICAL = ["sex", "birth_date", "birth_date_precision", "diagnosis_date", "primary_site", "inrgss_stage", "inss_stage",
            "inrg_risk", "cog_risk", "mycn", "aberration_11q", "ploidy", "histology"]


class PatientSerializer(serializers.ModelSerializer):
    hospital = serializers.CharField(source="hospital.code", read_only=True)
    has_registry_consent = serializers.BooleanField(read_only=True, default=None)
    reconsent_due = serializers.BooleanField(read_only=True, default=None)
    adult_consent_due = serializers.BooleanField(read_only=True, default=None)

    class Meta:
        model = Patient
        fields = ["study_id", "hospital", *CLINICAL, "age_at_diagnosis_months", "codes_version", "death_date",
                  "last_contact_date", "contact_withdrawn_on", "data_use_withdrawn_on", "has_registry_consent",
                  "reconsent_due", "adult_consent_due", "created_at", "updated_at"]


class IdentitySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    record_number = serializers.CharField(max_length=40)
    national_id = serializers.CharField(max_length=40, required=False, allow_blank=True)
    guardian1_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    guardian1_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    guardian2_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    guardian2_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)


class IdentityUpdateSerializer(IdentitySerializer):
    reason = serializers.CharField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.required = name == "reason"


def _code_field(codes: cl.CodeList, *, required: bool = True) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=codes.choices, required=required, allow_blank=not required)


class PatientCreateSerializer(ScopedRelatedFields, serializers.Serializer):
    scoped_related = {"hospital": Action.VIEW}
    hospital = serializers.SlugRelatedField(slug_field="code", queryset=Hospital.objects.none())
    identity = IdentitySerializer()
    sex = _code_field(cl.SEX)
    birth_date = serializers.DateField()
    birth_date_precision = serializers.ChoiceField(choices=Patient.BirthDatePrecision.choices, default="day")
    diagnosis_date = serializers.DateField()
    primary_site = _code_field(cl.PRIMARY_SITE)
    inrgss_stage = _code_field(cl.INRGSS)
    inss_stage = _code_field(cl.INSS, required=False)
    inrg_risk = _code_field(cl.INRG_RISK)
    cog_risk = _code_field(cl.COG_RISK, required=False)
    mycn = _code_field(cl.MYCN)
    aberration_11q = _code_field(cl.ABERRATION_11Q)
    ploidy = _code_field(cl.PLOIDY)
    histology = _code_field(cl.HISTOLOGY)


class PatientUpdateSerializer(PatientCreateSerializer):
    reason = serializers.CharField(help_text="Why recorded data is changed (kept in the audit trail).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["hospital"], self.fields["identity"]
        for name, field in self.fields.items():
            field.required = name == "reason"


class OutcomeSerializer(serializers.Serializer):
    study_id = serializers.CharField()
    os_days = serializers.IntegerField()
    os_event = serializers.BooleanField(help_text="Death from any cause; false = censored at last contact.")
    efs_days = serializers.IntegerField()
    efs_event = serializers.BooleanField(help_text="Relapse, progression or death; false = censored.")


@extend_schema_field({"type": "integer", "minimum": MINYEAR, "maximum": MAXYEAR})
class YearFilter(filters.NumberFilter):
    """A calendar year: a whole number that a date can have (the year lookup builds dates from it; year 0 or 1e20 cannot)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, min_value=MINYEAR, max_value=MAXYEAR, lookup_expr="year", **kwargs)


class ConsentStatusSerializer(serializers.Serializer):
    valid = serializers.BooleanField(help_text="A registry consent is valid today.")
    problem = serializers.CharField(help_text="Empty when valid; otherwise what is missing or due, in words.")
    reconsent_due = serializers.BooleanField()
    adult_consent_due = serializers.BooleanField()
    consent_id = serializers.IntegerField(allow_null=True, help_text="The consent judged (the latest signed version), if any.")


class PatientFilter(FilterSet):
    hospital = filters.CharFilter(field_name="hospital__code")
    diagnosis_year = YearFilter(field_name="diagnosis_date")
    vital_status = filters.ChoiceFilter(choices=[("alive", "alive"), ("dead", "dead")], method="filter_vital")
    consent_state = filters.ChoiceFilter(
        choices=[(c, c) for c in ("valid", "missing", "withdrawn", "reconsent_due", "adult_consent_due")],
        method="filter_consent",
    )

    class Meta:
        model = Patient
        fields = ["hospital", "sex", "inrgss_stage", "inss_stage", "inrg_risk", "cog_risk", "mycn", "diagnosis_year"]

    def filter_vital(self, qs: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        return qs.filter(death_date__isnull=value == "alive")

    def filter_consent(self, qs: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        return qs.filter({
            "valid": Q(has_registry_consent=True),
            "missing": Q(has_registry_consent=False, contact_withdrawn_on__isnull=True),
            "withdrawn": Q(contact_withdrawn_on__isnull=False),
            "reconsent_due": Q(reconsent_due=True),
            "adult_consent_due": Q(adult_consent_due=True),
        }[value])


class PatientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Registry patients by pseudonymous study ID. Identifiers are only under /identity/, for own-hospital staff."""

    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    search_fields = ["study_id"]
    ordering_fields = ["study_id", "diagnosis_date", "age_at_diagnosis_months"]
    lookup_field = "study_id"
    lookup_value_regex = r"[A-Z0-9]{2,8}-\d{5}"
    queryset = Patient.objects.none()  # for the schema generator, which has no user

    def get_queryset(self) -> QuerySet[Patient]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return patient_list(user=self.request.user)

    def list(self, request: Request) -> Response:
        # (Comments, not a docstring: a docstring would become the operation's description in the OpenAPI schema.)
        # The page is counted and cut on the plain rows; the consent flags are computed for the page's rows only
        # (one query), and the rows are represented from values() in PatientSerializer's shape.
        on = timezone.localdate()
        rows = list_filtered(self, patient_list(user=request.user, on=on, consent="consent_state" in request.query_params))
        rows = rows.order_by(*(rows.query.order_by or Patient._meta.ordering), "pk")
        keys = row_keys(PatientSerializer)
        page = self.paginate_queryset(KeysFirst(rows, lambda sliced: patient_page_rows(sliced, fields=keys, on=on)))
        return self.get_paginated_response(rows_as(PatientSerializer, page or []))

    @extend_schema(request=PatientCreateSerializer, responses={201: PatientSerializer})
    def create(self, request: Request) -> Response:
        data = self.validated(PatientCreateSerializer)
        patient = patient_register(actor=request.user, hospital=data.pop("hospital"), identity=data.pop("identity"),
                                   **data)
        return Response(PatientSerializer(self.get_queryset().get(pk=patient.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PatientUpdateSerializer, responses=PatientSerializer)
    def partial_update(self, request: Request, study_id: str | None = None) -> Response:
        patient = self.get_object()
        data = self.validated(PatientUpdateSerializer, partial=True)
        reason = data.pop("reason", "")
        patient_update(actor=request.user, patient=patient, data=data, reason=reason)
        return Response(PatientSerializer(self.get_queryset().get(pk=patient.pk)).data)

    @extend_schema(methods=["GET"], responses=IdentitySerializer)
    @extend_schema(methods=["PATCH"], request=IdentityUpdateSerializer, responses=IdentitySerializer)
    @action(detail=True, methods=["get", "patch"])
    def identity(self, request: Request, study_id: str | None = None) -> Response:
        """Name, record number, national ID, guardians: staff of the patient's own hospital only (others: 404)."""
        patient = self.get_object()
        if not PatientIdentity.objects.restrict(request.user, Action.VIEW).filter(patient=patient).exists():
            raise exceptions.NotFound()
        if request.method == "PATCH":
            if not PatientIdentity.objects.restrict(request.user, Action.CHANGE).filter(patient=patient).exists():
                raise exceptions.PermissionDenied("Your role does not allow correcting identities.")
            changes = self.validated(IdentityUpdateSerializer)
            identity_update(actor=request.user, patient=patient, changes=changes, reason=changes.pop("reason"))
        return Response(identity_read(actor=request.user, patient=patient))

    def check_object_permissions(self, request: Request, obj: Patient) -> None:
        # Reading or correcting the identity is governed by PatientIdentity's own scope (service-side).
        if self.action == "identity":
            return
        super().check_object_permissions(request, obj)

    @extend_schema(responses=OutcomeSerializer)
    @action(detail=True, methods=["get"])
    def outcome(self, request: Request, study_id: str | None = None) -> Response:
        patient = self.get_object()
        [result] = outcomes(Patient.objects.filter(pk=patient.pk))
        return Response(OutcomeSerializer(result).data)

    @extend_schema(responses=ConsentStatusSerializer)
    @action(detail=True, methods=["get"], url_path="consent-status")
    def consent_status(self, request: Request, study_id: str | None = None) -> Response:
        """Whether a registry consent is valid today, and what is missing or due."""
        state = consent_state(self.get_object(), on=timezone.localdate())
        return Response({"valid": state.valid, "problem": state.problem, "reconsent_due": state.reconsent_due,
                         "adult_consent_due": state.adult_consent_due,
                         "consent_id": state.record.pk if state.record else None})
