from django.contrib import admin

from imaging.models import ImagingStudy, Instance, Series, Upload
from registry.admin import ReadOnlyAdmin


@admin.register(ImagingStudy)
class ImagingStudyAdmin(ReadOnlyAdmin):
    list_display = ["study_uid", "patient", "study_date", "modality_group", "tracer", "status"]
    list_filter = ["status", "tracer", "modality_group"]
    list_select_related = ["patient"]
    search_fields = ["patient__study_id", "study_uid"]


@admin.register(Series)
class SeriesAdmin(ReadOnlyAdmin):
    list_display = ["series_uid", "modality", "number_of_instances", "pipeline_state", "pipeline_progress"]
    list_filter = ["modality", "pipeline_state"]


@admin.register(Instance)
class InstanceAdmin(ReadOnlyAdmin):
    list_display = ["sop_instance_uid", "series", "instance_number", "size", "quarantine_reason"]
    list_select_related = ["series"]


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdmin):
    list_display = ["id", "patient", "source", "files_received", "accepted", "duplicates", "rejected", "created_at"]
    list_filter = ["source"]
    list_select_related = ["patient"]
