"""Read-only admin: signatures and queries are written only through their services (API), which audit them."""
from django.contrib import admin

from registry.admin import ReadOnlyAdmin
from trials.oversight.models import DataQuery, QueryMessage, Signature


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ["id", "content_type", "object_id", "printed_name", "meaning", "signed_at", "status", "voided_at"]
    list_filter = ["status", "meaning", "content_type"]
    readonly_fields = ["void_reason", "content_hash", "content"]


class QueryMessageInline(admin.TabularInline):
    model = QueryMessage
    extra = 0
    can_delete = False
    fields = ["kind", "author", "text", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def, override]
        return False


@admin.register(DataQuery)
class DataQueryAdmin(ReadOnlyAdmin):
    list_display = ["id", "hospital", "trial_id", "content_type", "object_id", "field_name", "status", "raised_at"]
    list_filter = ["status", "hospital", "content_type"]
    inlines = [QueryMessageInline]
