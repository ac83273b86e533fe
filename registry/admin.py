"""Admin for data managers. Scoped like the API, and every write goes through the audited services."""
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from registry.access import Action
from registry.models import AuditEvent, Hospital, HospitalMembership, Job, User
from registry.services.hospitals import HOSPITAL_EDITABLE, hospital_create, hospital_update, membership_grant


class ScopedAdmin(admin.ModelAdmin):
    """The admin sees what the API would show this user; nothing is deleted from here."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).restrict(request.user, Action.VIEW)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
    list_display = ["code", "name_en", "name_zh", "province", "city", "is_lead", "is_active"]
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
