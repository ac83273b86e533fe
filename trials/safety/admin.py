"""Read-only admin for data managers: adverse events are reported, followed up and assessed through the API services,
which version and audit them."""
from django.contrib import admin

from registry.admin import ReadOnlyAdmin
from trials.safety.models import AdverseEvent, AdverseEventVersion, ReportingClock


class VersionInline(admin.TabularInline):
    model = AdverseEventVersion
    extra = 0
    can_delete = False
    fields = ["version_number", "term", "grade", "is_serious", "relatedness", "outcome", "reason", "recorded_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def, override]
        return False


class ClockInline(admin.TabularInline):
    model = ReportingClock
    extra = 0
    can_delete = False
    fields = ["kind", "started_at", "due_at", "status", "about_to_lapse", "reported_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def, override]
        return False


@admin.register(AdverseEvent)
class AdverseEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "subject", "number", "grade", "is_serious", "is_susar", "site_awareness_at", "created_at"]
    list_filter = ["is_serious", "is_susar", "grade"]
    search_fields = ["subject__subject_number"]
    inlines = [VersionInline, ClockInline]


@admin.register(ReportingClock)
class ReportingClockAdmin(ReadOnlyAdmin):
    list_display = ["id", "event", "kind", "started_at", "due_at", "status", "about_to_lapse", "reported_at"]
    list_filter = ["kind", "status", "about_to_lapse"]
