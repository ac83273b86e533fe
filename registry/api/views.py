from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.generics import RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from registry import codelists as cl
from registry.access import Rule, may
from registry.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet
from registry.api.filters import FilterSet
from registry.api.serializers import (
    AuditEventSerializer,
    HospitalSerializer,
    HospitalUpdateSerializer,
    JobSerializer,
    MembershipSerializer,
    MeSerializer,
)
from registry.models import AuditEvent, Hospital, HospitalMembership, Job, User
from registry.services.hospitals import hospital_update
from registry.services.jobs import job_enqueue


class MeView(RetrieveAPIView):
    """The caller and their memberships."""

    serializer_class = MeSerializer

    def get_object(self) -> User:
        return User.objects.prefetch_related("memberships__hospital").get(pk=self.request.user.pk)


class TokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (throttled like the login page)."""

    def get_serializer_context(self) -> dict[str, object]:
        # django-axes marks a lock-out on the request it is given; hand it Django's own request so
        # its middleware sees the mark and answers 429 rather than a plain 400.
        return {"request": self.request._request, "format": self.format_kwarg, "view": self}


class HospitalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedModelViewSet):
    scoped_queryset = Hospital.objects.all()
    serializer_class = HospitalSerializer
    filterset_fields = ["province", "is_active", "is_lead"]
    search_fields = ["code", "name_en", "name_zh", "city"]
    ordering_fields = ["code", "province"]

    @extend_schema(request=HospitalUpdateSerializer, responses=HospitalSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        hospital = self.get_object()
        data = self.validated(HospitalUpdateSerializer)
        reason = data.pop("reason")
        hospital = hospital_update(actor=request.user, hospital=hospital, data=data, reason=reason)
        return Response(HospitalSerializer(hospital).data)


class MembershipViewSet(ScopedReadOnlyViewSet):
    scoped_queryset = HospitalMembership.objects.select_related("user", "hospital")
    serializer_class = MembershipSerializer
    filterset_fields = ["hospital", "role"]
    ordering_fields = ["granted_at"]


class AuditEventFilter(FilterSet):
    since = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["object_type", "object_id", "action", "actor_username", "hospital_id", "trial_id", "request_id"]


class AuditEventViewSet(ScopedReadOnlyViewSet):
    """The audit trail of the hospitals (data managers, monitors) and trials (trial monitors) in scope."""

    scoped_queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    ordering_fields = ["seq"]
    lookup_field = "seq"

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=False, methods=["post"])
    def verify(self, request: Request) -> Response:
        """Queue a verification of the whole hash chain (data managers); poll the returned job."""
        if not may(request.user, Rule.VERIFY_AUDIT):
            raise exceptions.PermissionDenied("Only data managers can verify the audit trail.")
        job = job_enqueue(actor=request.user, kind="audit_verify")
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobViewSet(ScopedReadOnlyViewSet):
    scoped_queryset = Job.objects.select_related("requested_by")
    serializer_class = JobSerializer
    filterset_fields = ["kind", "status"]


class CodeListView(APIView):
    """The versioned code lists behind the registry fields, with their sources and Chinese labels."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response({
            "codes_version": cl.CODES_VERSION,
            "lists": [{"name": c.name, "version": c.version, "source": c.source,
                       "codes": [{"code": code, "en": en, "zh": zh} for code, en, zh in c.codes]}
                      for c in cl.ALL.values()],
        })
