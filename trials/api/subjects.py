"""Screening (with the per-site screening log), subjects (enrol, unblind) and subject visits.

Trial roles (sponsor, trial monitor, central reader) see these rows de-identified: the subject number, never
the registry study ID (the `patient` field is null for them) and no free-text notes.
"""
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from registry.access import Action, Rule, may
from registry.api.base import ScopedModelViewSet, ScopedRelatedFields
from registry.api.filters import FilterSet, RowIdFilter
from registry.models import Patient
from trials import selectors
from trials.api.common import PatientStudyIdField
from trials.models import Arm, EligibilityCriterion, ScreeningRecord, Subject, SubjectVisit, Trial, TrialSite
from trials.services.enrolment import subject_enrol, subject_status_change
from trials.services.randomisation import subject_unblind
from trials.services.screening import screening_record_create
from trials.services.visits import subject_visit_record


class StudyIdFilter(filters.CharFilter):
    """Filter on a registry study ID that only matches rows whose patient the caller may know (no probing)."""

    def __init__(self, *, hospital_path: str, **kwargs: Any) -> None:
        self.hospital_path = hospital_path
        super().__init__(**kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value:
            return qs
        return selectors.only_identified(qs, self.parent.request.user, self.hospital_path).filter(**{self.field_name: value})


# --- screening --------------------------------------------------------------------------------------------------

class AnswerSerializer(serializers.Serializer):
    criterion = serializers.PrimaryKeyRelatedField(queryset=EligibilityCriterion.objects.all())
    label = serializers.CharField(source="criterion.label", read_only=True)
    met = serializers.BooleanField()


class ScreeningSerializer(serializers.ModelSerializer):
    patient = PatientStudyIdField(hospital_attr="site.hospital_id")
    trial_code = serializers.CharField(source="trial.code", read_only=True)
    site_number = serializers.CharField(source="site.site_number", read_only=True)
    protocol_version = serializers.CharField(source="protocol_version.number", read_only=True)
    answers = AnswerSerializer(many=True, read_only=True)
    notes = serializers.SerializerMethodField()

    class Meta:
        model = ScreeningRecord
        fields = ["id", "trial", "trial_code", "site", "site_number", "patient", "protocol_version", "screened_on", "outcome",
                  "failed_criteria", "answers", "notes", "created_at"]

    def get_notes(self, record: ScreeningRecord) -> str | None:
        # Free text may name the child: only the patient's own hospital reads it.
        return record.notes if selectors.sees_patient(self.context["request"].user, record.site.hospital_id) else None


class ScreeningCreateSerializer(ScopedRelatedFields, serializers.Serializer):
    scoped_related = {"patient": Action.ADD, "site": Action.VIEW, "trial": Action.VIEW}

    trial = serializers.PrimaryKeyRelatedField(queryset=Trial.objects.none())
    site = serializers.PrimaryKeyRelatedField(queryset=TrialSite.objects.none())
    patient = serializers.SlugRelatedField(slug_field="study_id", queryset=Patient.objects.none())
    screened_on = serializers.DateField()
    answers = AnswerSerializer(many=True, help_text="Every criterion of the protocol version in force, each met or not.")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class ScreeningFilter(FilterSet):
    patient = StudyIdFilter(field_name="patient__study_id", hospital_path="site__hospital")
    screened_after = filters.DateFilter(field_name="screened_on", lookup_expr="gte")
    screened_before = filters.DateFilter(field_name="screened_on", lookup_expr="lte")

    class Meta:
        model = ScreeningRecord
        fields = ["trial", "site", "outcome", "patient"]


class ScreeningLogRowSerializer(serializers.Serializer):
    trial = serializers.CharField()
    site = serializers.IntegerField()
    site_number = serializers.CharField()
    hospital = serializers.CharField()
    screened = serializers.IntegerField()
    eligible = serializers.IntegerField()
    screen_failures = serializers.IntegerField()
    enrolled = serializers.IntegerField()


class ScreeningViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    serializer_class = ScreeningSerializer
    filterset_class = ScreeningFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.screening_list(user=self.request.user)

    @extend_schema(request=ScreeningCreateSerializer, responses={201: ScreeningSerializer})
    def create(self, request: Request) -> Response:
        """Screen a patient: answer every criterion; the outcome (eligible or screen failure) is derived."""
        data = self.validated(ScreeningCreateSerializer)
        answers = {a["criterion"].pk: a["met"] for a in data.pop("answers")}
        record = screening_record_create(actor=request.user, answers=answers, **data)
        return Response(self.get_serializer(self.get_queryset().get(pk=record.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ScreeningLogRowSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)  # one row per site: short, and answered whole
    def log(self, request: Request) -> Response:
        """The screening log: per site, screened / eligible / screen failures / enrolled (filters as the list)."""
        rows = selectors.screening_log(self.filter_queryset(self.get_queryset()))
        return Response(ScreeningLogRowSerializer(rows, many=True).data)


# --- subjects ---------------------------------------------------------------------------------------------------

class SubjectSerializer(serializers.ModelSerializer):
    patient = PatientStudyIdField(hospital_attr="site.hospital_id")
    trial_code = serializers.CharField(source="trial.code", read_only=True)
    site_number = serializers.CharField(source="site.site_number", read_only=True)
    protocol_version = serializers.CharField(source="protocol_version.number", read_only=True)
    arm = serializers.SerializerMethodField(help_text="Null while the allocation is blinded.")
    blinded = serializers.SerializerMethodField()
    unblinded_at = serializers.DateTimeField(source="unblinding.unblinded_at", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Subject
        fields = ["id", "trial", "trial_code", "site", "site_number", "subject_number", "patient", "arm", "blinded",
                  "unblinded_at", "stratum", "status", "enrolled_at", "protocol_version"]

    def get_blinded(self, subject: Subject) -> bool:
        return subject.trial.blinded and not hasattr(subject, "unblinding")

    def get_arm(self, subject: Subject) -> str | None:
        if subject.arm_id is None or self.get_blinded(subject):
            return None
        return subject.arm.code


class EnrolSerializer(ScopedRelatedFields, serializers.Serializer):
    scoped_related = {"patient": Action.ADD, "site": Action.VIEW, "trial": Action.VIEW, "arm": Action.VIEW}

    trial = serializers.PrimaryKeyRelatedField(queryset=Trial.objects.none())
    site = serializers.PrimaryKeyRelatedField(queryset=TrialSite.objects.none())
    patient = serializers.SlugRelatedField(slug_field="study_id", queryset=Patient.objects.none())
    arm = serializers.PrimaryKeyRelatedField(queryset=Arm.objects.none(), required=False, allow_null=True, default=None,
                                             help_text="Only for a fixed-arm trial with several arms (e.g. cohorts).")


class UnblindSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the allocation must be known (kept in the audit trail).")


class SubjectStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[Subject.Status.COMPLETED, Subject.Status.WITHDRAWN])
    reason = serializers.CharField(help_text="Why participation ends (kept in the audit trail).")


class SubjectFilter(FilterSet):
    patient = StudyIdFilter(field_name="patient__study_id", hospital_path="site__hospital")

    class Meta:
        model = Subject
        fields = ["trial", "site", "status", "subject_number", "patient"]


class SubjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    serializer_class = SubjectSerializer
    filterset_class = SubjectFilter
    search_fields = ["subject_number"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.subject_list(user=self.request.user)

    @extend_schema(request=EnrolSerializer, responses={201: SubjectSerializer})
    @action(detail=False, methods=["post"])
    def enrol(self, request: Request) -> Response:
        """Enrol a screened, consented patient; a refusal answers 400 with the reason's code (site_not_active,
        trial_not_recruiting, no_eligible_screening, consent_missing, assent_missing, already_enrolled, ...)."""
        if not may(request.user, Action.ADD, Subject):
            raise exceptions.PermissionDenied(_("Your role does not allow enrolling subjects."))
        subject = subject_enrol(actor=request.user, **self.validated(EnrolSerializer))
        return Response(self.get_serializer(self.get_queryset().get(pk=subject.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SubjectStatusSerializer, responses={200: SubjectSerializer})
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request: Request, pk: str | None = None) -> Response:
        """End the subject's participation: completed per protocol, or withdrawn (with a reason)."""
        subject = self.get_object()
        data = self.validated(SubjectStatusSerializer)
        subject_status_change(actor=request.user, subject=subject, to=data["status"], reason=data["reason"])
        return Response(self.get_serializer(self.get_queryset().get(pk=subject.pk)).data)

    @extend_schema(request=UnblindSerializer, responses={200: inline_serializer(
        "Unblinded", {"subject_number": serializers.CharField(), "arm": serializers.CharField(),
                      "unblinded_at": serializers.DateTimeField()})})
    @action(detail=True, methods=["post"])
    def unblind(self, request: Request, pk: str | None = None) -> Response:
        """Disclose a blinded subject's arm: data managers only, with a reason; audited."""
        subject = self.get_object()
        if not may(request.user, Rule.UNBLIND):
            raise exceptions.PermissionDenied(_("Only data managers unblind an allocation."))
        unblinding = subject_unblind(actor=request.user, subject=subject, **self.validated(UnblindSerializer))
        return Response({"subject_number": subject.subject_number, "arm": subject.arm.code,
                         "unblinded_at": unblinding.unblinded_at})


# --- subject visits ---------------------------------------------------------------------------------------------

class SubjectVisitSerializer(serializers.ModelSerializer):
    subject_number = serializers.CharField(source="subject.subject_number", read_only=True)
    code = serializers.CharField(source="definition.code", read_only=True)
    name_zh = serializers.CharField(source="definition.name_zh", read_only=True)
    name_en = serializers.CharField(source="definition.name_en", read_only=True)
    anchor = serializers.CharField(source="definition.anchor", read_only=True)
    day = serializers.IntegerField(source="definition.day_offset", read_only=True)

    class Meta:
        model = SubjectVisit
        fields = ["id", "subject", "subject_number", "code", "name_zh", "name_en", "anchor", "day", "target_date",
                  "window_start", "window_end", "status", "done_on", "out_of_window_reason"]


class SubjectVisitRecordSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[SubjectVisit.Status.DONE, SubjectVisit.Status.MISSED])
    done_on = serializers.DateField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Required to change a recorded visit.")
    out_of_window_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500,
                                                 help_text="Required when done_on is outside the visit window (code out_of_window_reason_required).")


class SubjectVisitFilter(FilterSet):
    trial = RowIdFilter(field_name="subject__trial")
    site = RowIdFilter(field_name="subject__site")
    due_before = filters.DateFilter(field_name="target_date", lookup_expr="lte")

    class Meta:
        model = SubjectVisit
        fields = ["subject", "status", "trial", "site"]


class SubjectVisitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    serializer_class = SubjectVisitSerializer
    filterset_class = SubjectVisitFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.subject_visit_list(user=self.request.user)

    @extend_schema(request=SubjectVisitRecordSerializer, responses={200: SubjectVisitSerializer})
    @action(detail=True, methods=["post"])
    def record(self, request: Request, pk: str | None = None) -> Response:
        """Record the visit as done (with its date) or missed; done outside the window raises a protocol deviation."""
        visit = subject_visit_record(actor=request.user, visit=self.get_object(), **self.validated(SubjectVisitRecordSerializer))
        return Response(self.get_serializer(self.get_queryset().get(pk=visit.pk)).data)
