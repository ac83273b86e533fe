from django.contrib import admin

from imaging.models import DoseResult, ImagingStudy, Instance, Series, SuvResult, Upload, VoiMeasurement
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


@admin.register(DoseResult)
class DoseResultAdmin(ReadOnlyAdmin):
    list_display = ["study", "tracer", "administered_activity_mbq", "radiopharmaceutical_msv", "ct_msv", "total_msv", "complete"]
    list_filter = ["tracer", "complete", "activity_source"]
    list_select_related = ["study"]


@admin.register(SuvResult)
class SuvResultAdmin(ReadOnlyAdmin):
    list_display = ["series", "quantifiable", "suv_bw_factor", "suv_max", "not_quantifiable_reason"]
    list_filter = ["quantifiable", "units"]


@admin.register(VoiMeasurement)
class VoiMeasurementAdmin(ReadOnlyAdmin):
    list_display = ["id", "series", "kind", "shape", "suv_max", "suv_mean", "mtv_ml", "created_by", "created_at"]
    list_filter = ["kind", "shape"]
