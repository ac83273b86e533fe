"""Signatures (sign by re-entering the password) and data queries (raise, answer, close, re-open)."""
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from registry.api.base import ScopedModelViewSet
from registry.api.filters import FilterSet
from registry.api.serializers import row_id_field
from registry.errors import ApplicationError
from trials.oversight.api.fields import NamedChoiceField
from trials.oversight.models import DataQuery, QueryMessage, Signature
from trials.oversight.selectors import data_query_list, data_query_worklist, open_query_counts, signature_list
from trials.oversight.services.queries import data_query_answer, data_query_close, data_query_raise, data_query_reopen
from trials.oversight.services.records import content_type_for
from trials.oversight.services.signatures import signature_sign

T = TypeVar("T")


@contextmanager
def refused_as_forbidden() -> Iterator[None]:
    """A service's "not your role" on a record the caller can see is a 403 (the record's existence is known)."""
    try:
        yield
    except ApplicationError as exc:
        if exc.code == "not_allowed":
            raise exceptions.PermissionDenied(exc.message) from exc
        raise


def call(fn: Callable[..., T], **kwargs: Any) -> T:
    with refused_as_forbidden():
        return fn(**kwargs)


class RecordTypeField(serializers.CharField):
    """A record type written "app_label.model", e.g. "safety.adverseevent" or "registry.patient"."""


class RecordReferenceMixin(serializers.Serializer):
    record_type = serializers.SerializerMethodField()

    def get_record_type(self, obj: Any) -> str:
        return f"{obj.content_type.app_label}.{obj.content_type.model}"


MEANING = {"choices_class": Signature.Meaning, "enum_name": "SignatureMeaning"}


class SignatureSerializer(RecordReferenceMixin, serializers.ModelSerializer):
    meaning = NamedChoiceField(**MEANING, read_only=True)
    status = NamedChoiceField(Signature.Status, enum_name="SignatureStatus", read_only=True)

    class Meta:
        model = Signature
        fields = ["id", "record_type", "object_id", "hospital", "trial_id", "signer", "printed_name", "signed_at",
                  "meaning", "content_hash", "status", "voided_at", "void_reason"]


class SignRequestSerializer(serializers.Serializer):
    record_type = RecordTypeField(help_text="app_label.model of the record, e.g. safety.adverseevent or trials.subject.")
    object_id = row_id_field()
    meaning = NamedChoiceField(**MEANING)
    password = serializers.CharField(style={"input_type": "password"}, write_only=True, trim_whitespace=False)


class SignatureFilter(FilterSet):
    record_type = filters.CharFilter(method="filter_record_type")

    class Meta:
        model = Signature
        fields = ["object_id", "status", "meaning", "trial_id"]

    def filter_record_type(self, queryset: Any, name: str, value: str) -> Any:
        app_label, _, model = value.lower().partition(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)


class SignatureViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Signatures on the records in your scope; an investigator signs a record of their hospital here."""

    serializer_class = SignatureSerializer
    filterset_class = SignatureFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return signature_list(user=self.request.user)

    @extend_schema(request=SignRequestSerializer, responses={201: SignatureSerializer})
    def create(self, request: Request) -> Response:
        """Sign a record: re-enter your password; the signature shows your printed name, the time and its meaning."""
        data = self.validated(SignRequestSerializer)
        signature = call(signature_sign, actor=request.user, content_type=content_type_for(data["record_type"]),
                         object_id=data["object_id"], meaning=data["meaning"], password=data["password"],
                         request=request._request)
        return Response(SignatureSerializer(signature).data, status=status.HTTP_201_CREATED)


class QueryMessageSerializer(serializers.ModelSerializer):
    kind = NamedChoiceField(QueryMessage.Kind, enum_name="QueryMessageKind", read_only=True)

    class Meta:
        model = QueryMessage
        fields = ["kind", "author", "text", "created_at"]


class DataQuerySerializer(RecordReferenceMixin, serializers.ModelSerializer):
    hospital_code = serializers.CharField(source="hospital.code", read_only=True)
    status = NamedChoiceField(DataQuery.Status, enum_name="DataQueryStatus", read_only=True)

    class Meta:
        model = DataQuery
        fields = ["id", "record_type", "object_id", "field_name", "hospital_code", "trial_id", "text", "status",
                  "raised_by", "raised_at", "closed_at"]


class DataQueryDetailSerializer(DataQuerySerializer):
    messages = QueryMessageSerializer(many=True, read_only=True)

    class Meta(DataQuerySerializer.Meta):
        fields = [*DataQuerySerializer.Meta.fields, "messages"]


class RaiseSerializer(serializers.Serializer):
    record_type = RecordTypeField(help_text="app_label.model of the record, e.g. trials.dosingrecord.")
    object_id = row_id_field()
    field_name = serializers.CharField(max_length=100)
    text = serializers.CharField()


class ThreadTextSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, default="")


class QueryCountSerializer(serializers.Serializer):
    hospital_code = serializers.CharField()
    trial_id = serializers.IntegerField(allow_null=True)
    open = serializers.IntegerField()
    answered = serializers.IntegerField()


class DataQueryFilter(FilterSet):
    hospital = filters.CharFilter(field_name="hospital__code")
    record_type = filters.CharFilter(method="filter_record_type")

    class Meta:
        model = DataQuery
        fields = ["status", "trial_id", "object_id", "field_name"]

    def filter_record_type(self, queryset: Any, name: str, value: str) -> Any:
        app_label, _, model = value.lower().partition(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)


class DataQueryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    """Data queries: `?status=open&hospital=AAA` lists a site's open queries; sponsors see counts only (summary)."""

    filterset_class = DataQueryFilter
    ordering_fields = ["raised_at", "status"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        queryset = data_query_list(user=self.request.user)
        return queryset.prefetch_related("messages") if self.action == "retrieve" else queryset

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return DataQueryDetailSerializer if self.action == "retrieve" else DataQuerySerializer

    def _respond(self, query: DataQuery, code: int = status.HTTP_200_OK) -> Response:
        return Response(DataQueryDetailSerializer(self.get_queryset().prefetch_related("messages").get(pk=query.pk)).data,
                        status=code)

    @extend_schema(request=RaiseSerializer, responses={201: DataQueryDetailSerializer})
    def create(self, request: Request) -> Response:
        """Raise a query on one field of a clinical record (monitors of its hospital or trial, data managers)."""
        data = self.validated(RaiseSerializer)
        query = call(data_query_raise, actor=request.user, content_type=content_type_for(data["record_type"]),
                     object_id=data["object_id"], field_name=data["field_name"], text=data["text"])
        return self._respond(query, status.HTTP_201_CREATED)

    @extend_schema(request=ThreadTextSerializer, responses=DataQueryDetailSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str | None = None) -> Response:
        """The site's answer (coordinators and investigators of the record's hospital)."""
        query = self.get_object()
        return self._respond(call(data_query_answer, actor=request.user, query=query,
                                  text=self.validated(ThreadTextSerializer)["text"]))

    @extend_schema(request=ThreadTextSerializer, responses=DataQueryDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        query = self.get_object()
        return self._respond(call(data_query_close, actor=request.user, query=query,
                                  text=self.validated(ThreadTextSerializer)["text"]))

    @extend_schema(request=ThreadTextSerializer, responses=DataQueryDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        """Send the query back to the site, saying why (required)."""
        query = self.get_object()
        return self._respond(call(data_query_reopen, actor=request.user, query=query,
                                  text=self.validated(ThreadTextSerializer)["text"]))

    @extend_schema(responses=DataQuerySerializer(many=True))
    @action(detail=False, methods=["get"])
    def worklist(self, request: Request) -> Response:
        """Queries waiting for you: open ones at your sites to answer, answered ones you may close."""
        page = self.paginate_queryset(self.filter_queryset(data_query_worklist(user=request.user)))
        return self.get_paginated_response(DataQuerySerializer(page, many=True).data)

    @extend_schema(responses=QueryCountSerializer(many=True), filters=False)
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def summary(self, request: Request) -> Response:
        """Open and answered query counts per site and trial, no texts: what sponsors see of queries."""
        return Response(QueryCountSerializer(open_query_counts(user=request.user), many=True).data)
