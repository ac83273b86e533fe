"""POST /api/v1/imaging/measurements/: a measurement drawn in the viewer, saved to a VOI record or a score sheet.

Thin: the input serializer, then imaging.services.measurements (which resolves the page's context, checks access and
writes through the target's service, audited). Errors answer with the code and the message the viewer shows; a page
the caller cannot reach is a 404, a role that may not write there a 403.
"""
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from imaging.services.measurements import TOOLS, Measurement, measurement_save
from registry.errors import ApplicationError

STATUS_OF_CODE = {"not_found": status.HTTP_404_NOT_FOUND, "not_allowed": status.HTTP_403_FORBIDDEN}


class MeasurementRequestSerializer(serializers.Serializer):
    context = serializers.DictField(help_text="The page's opaque context from the viewer config, posted back unchanged.")
    target = serializers.ChoiceField(choices=["voi", "score_sheet"])
    seriesInstanceUID = serializers.CharField(max_length=64)  # noqa: N815  (the contract's names)
    sopInstanceUID = serializers.CharField(max_length=64)  # noqa: N815
    tool = serializers.ChoiceField(choices=list(TOOLS))
    label = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    values = serializers.DictField(child=serializers.FloatField(allow_null=True), allow_empty=False,
                                   help_text='length: {"length_mm"}; roi: {"suv_max", "suv_mean", "suv_peak", "mean", "max", '
                                             '"area_mm2", "pixels"}; probe: {"raw", "rescaled", "suv"}')
    points = serializers.ListField(child=serializers.ListField(child=serializers.FloatField(), min_length=3, max_length=3),
                                   min_length=1, max_length=2000, help_text="Patient coordinates (LPS, mm)",
                                   error_messages={"min_length": _lazy("Give the measurement's points.")})

    def validate_context(self, value: dict) -> dict:
        if len(str(value)) > 1000:
            raise serializers.ValidationError(_lazy("This page's context is not valid."))
        return value


SavedSerializer = inline_serializer("MeasurementSaved", {"id": serializers.IntegerField(), "message": serializers.CharField()})
# "message" is this view's (the viewer shows it); a refusal before the view (a NUL in the body) has the platform's shape.
ErrorSerializer = inline_serializer("MeasurementRefused", {"code": serializers.CharField(),
                                                           "message": serializers.CharField(required=False),
                                                           "detail": serializers.CharField(), "fields": serializers.DictField()})


def _refused(code: str, message: str, fields: dict | None, status_code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"code": code, "message": message, "detail": message, "fields": fields or {}}, status=status_code)


class MeasurementView(APIView):
    """Save a viewer measurement (length, ROI or probe) of the page's study or blinded case."""

    @extend_schema(request=MeasurementRequestSerializer, responses={201: SavedSerializer, 400: ErrorSerializer,
                                                                    403: ErrorSerializer, 404: ErrorSerializer})
    def post(self, request: Request) -> Response:
        payload = MeasurementRequestSerializer(data=request.data, context={"request": request})
        if not payload.is_valid():
            fields = {k: [str(e) for e in (v if isinstance(v, list) else [v])] for k, v in payload.errors.items()}
            first = next(iter(fields.values()))[0] if fields else "Invalid input."
            return _refused("invalid", first, fields)
        data = payload.validated_data
        measurement = Measurement(context=data["context"], target=data["target"], series_uid=data["seriesInstanceUID"],
                                  sop_uid=data["sopInstanceUID"], tool=data["tool"], label=data["label"],
                                  values=dict(data["values"]), points=[list(p) for p in data["points"]])
        try:
            saved = measurement_save(actor=request.user, measurement=measurement)
        except ApplicationError as exc:
            return _refused(exc.code, exc.message, exc.fields, STATUS_OF_CODE.get(exc.code, status.HTTP_400_BAD_REQUEST))
        return Response({"id": saved.id, "message": saved.message}, status=status.HTTP_201_CREATED)
