"""Serializer pieces shared by the trials endpoints: the patient reference only the patient's own hospital sees."""
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trials.selectors import sees_patient


@extend_schema_field(OpenApiTypes.STR)
class PatientStudyIdField(serializers.Field):
    """The registry study ID, for staff of the patient's hospital; null for trial roles (sponsor, trial monitor,
    central reader), who know a subject by its subject number only. `source` points at the row whose
    `patient` and hospital decide ("*" for a screening record, "subject" for a visit)."""

    def __init__(self, *, hospital_attr: str, **kwargs: Any) -> None:
        self.hospital_attr = hospital_attr
        kwargs.setdefault("source", "*")
        kwargs["read_only"] = True
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, row: Any) -> str | None:
        hospital_id = row
        for part in self.hospital_attr.split("."):
            hospital_id = getattr(hospital_id, part)
        request = self.context.get("request")
        if request is None or not sees_patient(request.user, hospital_id):
            return None
        return row.patient.study_id
