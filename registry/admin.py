"""Admin for data managers. Scoped like the API, and every write goes through the audited services."""
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from registry.access import Action, Rule, may
from registry.models import (
    AuditEvent,
    ConsentDocument,
    ConsentRecord,
    ConsentWithdrawal,
    FollowUpPlan,
    FollowUpVisit,
    Hospital,
    HospitalMembership,
    Job,
    Patient,
    User,
)
from registry.services.consent import consent_document_create
from registry.services.hospitals import HOSPITAL_EDITABLE, hospital_create, hospital_update, membership_grant
from registry.services.patients import CLINICAL_FIELDS, patient_update
from registry.services.plans import followup_plan_update


def is_data_manager(request: HttpRequest) -> bool:
    """The admin is the data managers' tool: staff status plus the USE_ADMIN rule (no Django permissions)."""
    user = request.user
    return bool(user.is_active and user.is_staff and may(user, Rule.USE_ADMIN))


class ScopedAdmin(admin.ModelAdmin):
    """The admin sees what the API would show this user; nothing is deleted from here."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_data_manager(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_data_manager(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_data_manager(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_data_manager(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).restrict(request.user, Action.VIEW)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StoredFileAdmin:
    """Stored files are never served from MEDIA_URL, so a saved row's file field, which the admin would show as a dead
    /media/ link, is replaced by `<field>_link`: a link to the view that checks and audits the download."""

    stored_files: tuple[str, ...] = ()

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        excluded = list(super().get_exclude(request, obj) or ())  # type: ignore[misc]
        return [*excluded, *self.stored_files] if obj is not None else excluded

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return [*readonly, *(f"{name}_link" for name in self.stored_files)] if obj is not None else readonly


def download_link(file: Any, url: str) -> str:
    """A link to a stored file's download view, or a dash when the row has no file."""
    return format_html('<a href="{}">{}</a>', url, _("Download (recorded in the audit trail)")) if file else "-"


class ReasonForm(forms.ModelForm):
    reason = forms.CharField(
        label=_("Reason for change"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when changing an existing record; kept in the audit trail."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk and self.has_changed() and not (data.get("reason") or "").strip():
            self.add_error("reason", _("A reason is required to change data that was already recorded."))
        return data


@admin.register(Hospital)
class HospitalAdmin(ScopedAdmin):
    form = ReasonForm
    list_display = ["code", "name_en", "name_zh", "province", "city", "is_lead", "is_active", "dosage_table"]
    list_filter = ["province", "is_active"]
    search_fields = ["code", "name_en", "name_zh", "city"]

    def get_readonly_fields(self, request: HttpRequest, obj: Hospital | None = None) -> list[str]:
        return ["code", "is_lead"] if obj else []

    def save_model(self, request: HttpRequest, obj: Hospital, form: forms.ModelForm, change: bool) -> None:
        if change:
            data = {k: form.cleaned_data[k] for k in form.changed_data if k in HOSPITAL_EDITABLE}
            saved = hospital_update(actor=request.user, hospital=obj, data=data, reason=form.cleaned_data["reason"])
        else:
            fields = {k: form.cleaned_data[k] for k in ("code", "name_zh", "name_en", "province", "city", "is_lead")}
            saved = hospital_create(actor=request.user, **fields)
        obj.pk = saved.pk


@admin.register(HospitalMembership)
class MembershipAdmin(ScopedAdmin):
    list_display = ["user", "hospital", "role", "granted_at"]
    list_filter = ["role", "hospital"]
    autocomplete_fields = ["user"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # memberships are granted or revoked, not edited in place

    def save_model(self, request: HttpRequest, obj: HospitalMembership, form: forms.ModelForm, change: bool) -> None:
        saved = membership_grant(actor=request.user, user=obj.user, role=obj.role, hospital=obj.hospital)
        obj.pk = saved.pk


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, (_("Platform"), {"fields": ("preferred_language",)}))


class ReadOnlyAdmin(ScopedAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor_username", "action", "object_type", "object_id", "source"]
    list_filter = ["action", "source", "object_type"]
    search_fields = ["object_id", "request_id", "actor_username"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "status", "progress", "requested_by", "created_at"]
    list_filter = ["kind", "status"]


@admin.register(Patient)
class PatientAdmin(ScopedAdmin):
    """Data managers correct clinical fields here (with a reason); registration, which needs the identity, is
    done through the API so the identifiers are encrypted on the way in."""

    form = ReasonForm
    list_display = ["study_id", "hospital", "sex", "diagnosis_date", "age_at_diagnosis_months", "inrgss_stage",
                    "inrg_risk", "mycn", "death_date"]
    list_filter = ["inrgss_stage", "inrg_risk", "mycn", "hospital"]
    search_fields = ["study_id"]
    list_select_related = ["hospital"]
    exclude = ["record_number_hash"]
    readonly_fields = ["study_id", "hospital", "age_at_diagnosis_months", "codes_version", "death_date",
                       "last_contact_date", "contact_withdrawn_on", "data_use_withdrawn_on"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Patient, form: forms.ModelForm, change: bool) -> None:
        data = {k: form.cleaned_data[k] for k in form.changed_data if k in CLINICAL_FIELDS}
        patient_update(actor=request.user, patient=obj, data=data, reason=form.cleaned_data["reason"])


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(StoredFileAdmin, ScopedAdmin):
    list_display = ["scope", "trial_id", "version", "language", "effective_from", "effective_to", "requires_reconsent"]
    list_filter = ["scope", "requires_reconsent"]
    stored_files = ("pdf",)

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: ConsentDocument) -> str:
        return download_link(obj.pdf, reverse("web-consent-document-pdf", args=[obj.pk]))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an approved version is never edited; publish a new version instead

    def save_model(self, request: HttpRequest, obj: ConsentDocument, form: forms.ModelForm, change: bool) -> None:
        fields = {k: v for k, v in form.cleaned_data.items() if k != "pdf"}
        obj.pk = consent_document_create(actor=request.user, pdf=form.cleaned_data.get("pdf") or None, **fields).pk


@admin.register(FollowUpPlan)
class FollowUpPlanAdmin(ScopedAdmin):
    form = ReasonForm
    list_display = ["name", "window_days", "horizon_years", "is_default"]
    readonly_fields = ["name", "is_default"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: FollowUpPlan, form: forms.ModelForm, change: bool) -> None:
        data = {k: form.cleaned_data[k] for k in form.changed_data if k in ("rules", "window_days", "horizon_years")}
        followup_plan_update(actor=request.user, plan=obj, data=data, reason=form.cleaned_data["reason"])


@admin.register(ConsentRecord)
class ConsentRecordAdmin(StoredFileAdmin, ReadOnlyAdmin):
    list_display = ["patient", "document", "signer", "assent", "signed_date"]
    list_select_related = ["patient", "document"]
    search_fields = ["patient__study_id"]
    stored_files = ("signature_page",)

    def get_readonly_fields(self, request: HttpRequest, obj: ConsentRecord | None = None) -> list[str]:
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and not may(request.user, Rule.READ_SIGNED_CONSENT, obj):
            # The guardians' names and signatures are for staff of the patient's own hospital: no link that would 404.
            return [("signature_page_withheld" if name == "signature_page_link" else name) for name in readonly]
        return readonly

    @admin.display(description=_("Signature page"))
    def signature_page_link(self, obj: ConsentRecord) -> str:
        return download_link(obj.signature_page, reverse("web-patient-consent-signature-page", args=[obj.patient.study_id, obj.pk]))

    @admin.display(description=_("Signature page"))
    def signature_page_withheld(self, obj: ConsentRecord) -> str:
        if not obj.signature_page:
            return "-"
        return str(_("Scanned; readable by staff of the patient's own hospital."))


@admin.register(ConsentWithdrawal)
class ConsentWithdrawalAdmin(ReadOnlyAdmin):
    list_display = ["consent", "withdrawn_on", "scope"]


@admin.register(FollowUpVisit)
class FollowUpVisitAdmin(ReadOnlyAdmin):
    list_display = ["patient", "number", "target_date", "status", "visit_date", "vital_status", "disease_status"]
    list_filter = ["status", "vital_status"]
    list_select_related = ["patient"]
    search_fields = ["patient__study_id"]
