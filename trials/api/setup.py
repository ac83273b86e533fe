"""Trial set-up, read through the API (data managers change it in the admin): trials with their status
transitions, protocol versions, arms, sites, trial roles, eligibility criteria and visit schedules."""
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from registry.api.base import ScopedReadOnlyViewSet
from registry.api.downloads import FILE_RESPONSE, download, download_url
from registry.api.filters import FilterSet, RowIdFilter
from trials import selectors
from trials.models import Arm, EligibilityCriterion, ProtocolVersion, Trial, TrialMembership, TrialSite, VisitDefinition
from trials.services.protocol_documents import protocol_document_download
from trials.services.setup import trial_transition
from trials.web.downloads import protocol_document_response


class TrialSerializer(serializers.ModelSerializer):
    enrolled = serializers.IntegerField(read_only=True)
    active_sites = serializers.IntegerField(read_only=True)

    class Meta:
        model = Trial
        fields = ["id", "code", "title_zh", "title_en", "phase", "agent_code", "sponsor_organisation", "status",
                  "target_accrual", "enrolled", "active_sites", "randomised", "blinded", "stratify_by", "block_sizes",
                  "dosage_table", "fallback_dosage_table", "fdg_acquisition", "deviation_threshold_percent", "created_at", "updated_at"]


class TransitionSerializer(serializers.Serializer):
    # Nothing returns to draft: the targets a transition may name.
    status = serializers.ChoiceField(choices=[c for c in Trial.Status.choices if c[0] != Trial.Status.DRAFT])
    reason = serializers.CharField(help_text="Why the status changes (kept in the audit trail).")


class TrialViewSet(ScopedReadOnlyViewSet):
    serializer_class = TrialSerializer
    filterset_fields = ["status", "phase", "agent_code"]
    search_fields = ["code", "title_en", "title_zh"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.trial_list(user=self.request.user)

    @extend_schema(request=TransitionSerializer, responses={200: TrialSerializer})
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        """Move the trial to another status: draft -> recruiting -> closed to accrual -> completed; recruiting <-> suspended."""
        trial = self.get_object()
        data = self.validated(TransitionSerializer)
        trial_transition(actor=request.user, trial=trial, to=data["status"], reason=data["reason"])
        return Response(TrialSerializer(self.get_queryset().get(pk=trial.pk)).data)


class ProtocolVersionSerializer(serializers.ModelSerializer):
    trial_code = serializers.CharField(source="trial.code", read_only=True)
    document = serializers.SerializerMethodField()

    class Meta:
        model = ProtocolVersion
        fields = ["id", "trial", "trial_code", "number", "version_date", "document", "ethics_approval_number",
                  "ethics_approval_date", "effective_from", "created_at"]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_document(self, version: ProtocolVersion) -> str | None:
        """The URL of the `document` action that sends the protocol (checked and audited), or null when none was filed."""
        return download_url(self.context, "protocol-version-document", version.pk) if version.document else None


class ProtocolVersionViewSet(ScopedReadOnlyViewSet):
    serializer_class = ProtocolVersionSerializer
    filterset_fields = ["trial"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.protocol_version_list(user=self.request.user)

    @extend_schema(responses=FILE_RESPONSE)
    @action(detail=True, methods=["get"])
    def document(self, request: Request, pk: str | None = None) -> Any:
        """The approved protocol document; every download is recorded in the audit trail."""
        version = self.get_object()
        file = download(protocol_document_download, actor=request.user, version=version)
        return protocol_document_response(version, file)


class ArmSerializer(serializers.ModelSerializer):
    class Meta:
        model = Arm
        fields = ["id", "trial", "code", "name_zh", "name_en", "description", "activity_percent", "ratio"]


class ArmViewSet(ScopedReadOnlyViewSet):
    serializer_class = ArmSerializer
    filterset_fields = ["trial"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.arm_list(user=self.request.user)


class TrialSiteSerializer(serializers.ModelSerializer):
    hospital_code = serializers.CharField(source="hospital.code", read_only=True)
    principal_investigator = serializers.CharField(source="principal_investigator.get_full_name", read_only=True, default=None,
                                                   allow_null=True)
    active = serializers.SerializerMethodField()
    enrolled = serializers.IntegerField(read_only=True)

    class Meta:
        model = TrialSite
        fields = ["id", "trial", "site_number", "hospital", "hospital_code", "principal_investigator", "activated_on",
                  "closed_on", "active", "target_accrual", "fdg_acquisition", "enrolled"]

    def get_active(self, site: TrialSite) -> bool:
        return site.is_active_on(timezone.localdate())


class TrialSiteViewSet(ScopedReadOnlyViewSet):
    serializer_class = TrialSiteSerializer
    filterset_fields = ["trial", "hospital"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.trial_site_list(user=self.request.user)


class TrialMembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    trial_code = serializers.CharField(source="trial.code", read_only=True)

    class Meta:
        model = TrialMembership
        fields = ["id", "username", "trial", "trial_code", "role", "granted_at"]


class TrialMembershipViewSet(ScopedReadOnlyViewSet):
    """Who holds which role in which trial: data managers see all; everyone else sees their own trial roles."""

    serializer_class = TrialMembershipSerializer
    filterset_fields = ["trial", "role"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.trial_membership_list(user=self.request.user)


class CriterionSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)

    class Meta:
        model = EligibilityCriterion
        fields = ["id", "protocol_version", "kind", "number", "label", "text_zh", "text_en"]


class CriterionFilter(FilterSet):
    trial = RowIdFilter(field_name="protocol_version__trial")

    class Meta:
        model = EligibilityCriterion
        fields = ["protocol_version", "kind", "trial"]


class CriterionViewSet(ScopedReadOnlyViewSet):
    serializer_class = CriterionSerializer
    filterset_class = CriterionFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.criterion_list(user=self.request.user)


class VisitDefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = VisitDefinition
        fields = ["id", "protocol_version", "code", "name_zh", "name_en", "anchor", "day_offset", "window_before_days",
                  "window_after_days"]


class VisitDefinitionFilter(FilterSet):
    trial = RowIdFilter(field_name="protocol_version__trial")

    class Meta:
        model = VisitDefinition
        fields = ["protocol_version", "anchor", "trial"]


class VisitDefinitionViewSet(ScopedReadOnlyViewSet):
    serializer_class = VisitDefinitionSerializer
    filterset_class = VisitDefinitionFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.visit_definition_list(user=self.request.user)
