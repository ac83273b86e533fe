"""Admin for data managers: trial set-up through the audited services, clinical trial rows read-only.

The allocation list (RandomisationList, AllocationSlot) is deliberately not registered: nobody reads the next
allocation, here or anywhere. Subjects are shown without their arm, which only an audited unblinding discloses.
"""
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from registry.admin import ReadOnlyAdmin, ReasonForm, ScopedAdmin, StoredFileAdmin, download_link
from trials.models import (
    Arm,
    DosingRecord,
    EligibilityCriterion,
    ProtocolDeviation,
    ProtocolVersion,
    ScreeningRecord,
    Subject,
    SubjectVisit,
    Trial,
    TrialMembership,
    TrialSite,
    VisitDefinition,
)
from trials.services import setup


class CreateOnlyAdmin(ScopedAdmin):
    """Set-up rows that are added, never edited in place (a new protocol version replaces an old one)."""

    create_service: Any = None
    parent_field = "trial"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        fields = dict(form.cleaned_data)
        parent = fields.pop(self.parent_field)
        obj.pk = type(self).create_service(actor=request.user, **{self.parent_field: parent}, **fields).pk


@admin.register(Trial)
class TrialAdmin(ScopedAdmin):
    form = ReasonForm
    list_display = ["code", "title_en", "phase", "agent_code", "status", "target_accrual", "randomised", "blinded"]
    list_filter = ["status", "phase", "agent_code"]
    search_fields = ["code", "title_en", "title_zh"]
    readonly_fields = ["status"]

    def get_readonly_fields(self, request: HttpRequest, obj: Trial | None = None) -> list[str]:
        # The status moves only by the guarded transitions (API: trials/{id}/transition/); the code never changes.
        return ["status", "code", "agent_code", "phase"] if obj else ["status"]

    def save_model(self, request: HttpRequest, obj: Trial, form: forms.ModelForm, change: bool) -> None:
        if change:
            data = {k: form.cleaned_data[k] for k in form.changed_data if k in setup.TRIAL_EDITABLE}
            setup.trial_update(actor=request.user, trial=obj, data=data, reason=form.cleaned_data["reason"])
        else:
            fields = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
            obj.pk = setup.trial_create(actor=request.user, **fields).pk


@admin.register(ProtocolVersion)
class ProtocolVersionAdmin(StoredFileAdmin, CreateOnlyAdmin):
    create_service = staticmethod(setup.protocol_version_create)
    list_display = ["trial", "number", "version_date", "effective_from", "ethics_approval_number"]
    list_filter = ["trial"]
    stored_files = ("document",)

    @admin.display(description=_("protocol document"))
    def document_link(self, obj: ProtocolVersion) -> str:
        return download_link(obj.document, reverse("web-protocol-document", args=[obj.pk]))


@admin.register(Arm)
class ArmAdmin(CreateOnlyAdmin):
    create_service = staticmethod(setup.arm_create)
    list_display = ["trial", "code", "name_en", "activity_percent", "ratio"]
    list_filter = ["trial"]


@admin.register(EligibilityCriterion)
class CriterionAdmin(CreateOnlyAdmin):
    create_service = staticmethod(setup.criterion_create)
    parent_field = "protocol_version"
    list_display = ["protocol_version", "kind", "number", "text_en"]
    list_filter = ["kind"]


@admin.register(VisitDefinition)
class VisitDefinitionAdmin(CreateOnlyAdmin):
    create_service = staticmethod(setup.visit_definition_create)
    parent_field = "protocol_version"
    list_display = ["protocol_version", "code", "name_en", "anchor", "day_offset", "window_before_days", "window_after_days"]


@admin.register(TrialSite)
class TrialSiteAdmin(ScopedAdmin):
    form = ReasonForm
    list_display = ["trial", "site_number", "hospital", "principal_investigator", "activated_on", "closed_on", "target_accrual"]
    list_filter = ["trial", "hospital"]
    list_select_related = ["trial", "hospital", "principal_investigator"]

    def get_readonly_fields(self, request: HttpRequest, obj: TrialSite | None = None) -> list[str]:
        return ["trial", "hospital", "site_number"] if obj else []

    def save_model(self, request: HttpRequest, obj: TrialSite, form: forms.ModelForm, change: bool) -> None:
        if change:
            data = {k: form.cleaned_data[k] for k in form.changed_data if k in setup.SITE_EDITABLE}
            setup.trial_site_update(actor=request.user, site=obj, data=data, reason=form.cleaned_data["reason"])
        else:
            fields = {k: v for k, v in form.cleaned_data.items() if k not in ("reason", "trial")}
            obj.pk = setup.trial_site_create(actor=request.user, trial=form.cleaned_data["trial"], **fields).pk


@admin.register(TrialMembership)
class TrialMembershipAdmin(ScopedAdmin):
    list_display = ["user", "trial", "role", "granted_at"]
    list_filter = ["trial", "role"]
    autocomplete_fields = ["user"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # granted or revoked, not edited

    def save_model(self, request: HttpRequest, obj: TrialMembership, form: forms.ModelForm, change: bool) -> None:
        obj.pk = setup.trial_membership_grant(actor=request.user, user=obj.user, trial=obj.trial, role=obj.role).pk


@admin.register(Subject)
class SubjectAdmin(ReadOnlyAdmin):
    list_display = ["subject_number", "trial", "site", "status", "enrolled_at"]
    list_filter = ["trial", "status"]
    list_select_related = ["trial", "site"]
    search_fields = ["subject_number"]
    exclude = ["arm", "stratum"]


@admin.register(ScreeningRecord)
class ScreeningRecordAdmin(ReadOnlyAdmin):
    list_display = ["trial", "site", "patient", "screened_on", "outcome", "failed_criteria"]
    list_filter = ["trial", "outcome"]
    list_select_related = ["trial", "site", "patient"]


@admin.register(SubjectVisit)
class SubjectVisitAdmin(ReadOnlyAdmin):
    list_display = ["subject", "definition", "target_date", "window_start", "window_end", "status", "done_on"]
    list_filter = ["status"]
    list_select_related = ["subject", "definition"]


@admin.register(DosingRecord)
class DosingRecordAdmin(ReadOnlyAdmin):
    list_display = ["subject", "administered_at", "net_activity_mbq", "recommended_activity_mbq", "deviation_percent",
                    "effective_dose_msv"]
    list_select_related = ["subject"]


@admin.register(ProtocolDeviation)
class ProtocolDeviationAdmin(ReadOnlyAdmin):
    list_display = ["subject", "kind", "status", "detected_at", "reviewed_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["subject"]
