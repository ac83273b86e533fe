"""The base viewset: applies the access rule once, for every API endpoint built on it."""
from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext
from rest_framework import exceptions, viewsets
from rest_framework.request import Request
from rest_framework.serializers import Serializer

from registry.access import Action, may

# What a write on an existing row asks of it. POST reaches check_object_permissions only on a detail action
# (answer, close, sign, a follow-up report): it changes that row. A create is checked in initial() as ADD.
_METHOD_ACTIONS = {"POST": Action.CHANGE, "PUT": Action.CHANGE, "PATCH": Action.CHANGE, "DELETE": Action.DELETE}


def query_input(request: Request, serializer_class: type[Serializer]) -> dict[str, Any]:
    """The query string checked by an input serializer (400 naming the parameter, never a 500 from a raw value).

    Its fields also document the parameters: `@extend_schema(parameters=[serializer_class])`.
    """
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return dict(params.validated_data)


class ScopedViewSetMixin:
    """Lists and lookups see only the caller's scope (out of scope -> 404).

    A write additionally needs the write action's scope on the object: a monitor may GET a record but
    a PATCH to it answers 403, because the record's existence is already known to them. POST, PUT and
    PATCH on a row mean CHANGE and DELETE means DELETE, unless the action declares what it asks:
    `@action(detail=True, methods=["post"], access=Action.VIEW)` (DRF hands `access` to the view).
    """

    request: Request
    scoped_queryset: ClassVar[QuerySet[Any]]
    access: Action | None = None

    def get_queryset(self) -> QuerySet[Any]:
        return self.scoped_queryset.all().restrict(self.request.user, Action.VIEW)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        # A create has no object to check: refuse it when the role may add this kind of row nowhere.
        if getattr(self, "action", None) == "create" and request.user.is_authenticated:
            # The model alone (scoped_queryset's, when the view declares one): building the restricted queryset here
            # cost a create about a twentieth of a one-instance upload.
            declared = getattr(self, "scoped_queryset", None)
            model = declared.model if declared is not None else self.get_queryset().model
            if not may(request.user, Action.ADD, model):
                raise exceptions.PermissionDenied(gettext("Your role does not allow adding this."))

    def validated(self, serializer_class: type[Serializer], *, partial: bool = False) -> dict[str, Any]:
        """The request body checked by an input serializer (400 naming the fields), as a plain dict."""
        payload = serializer_class(data=self.request.data, context={"request": self.request}, partial=partial)
        payload.is_valid(raise_exception=True)
        return dict(payload.validated_data)

    def check_object_permissions(self, request: Request, obj: Model) -> None:
        super().check_object_permissions(request, obj)  # type: ignore[misc]
        # A read without a declared action needs nothing more: the queryset holds only rows the caller may view.
        action = self.access or _METHOD_ACTIONS.get(request.method or "")
        if action is not None and not may(request.user, action, obj):
            raise exceptions.PermissionDenied(gettext("Your role does not allow this change."))


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """Actions are added per endpoint with the mixins it needs; writes always call a service."""


class ScopedRelatedFields:
    """Serializer mixin: related fields accept only rows the caller may act on; others read as "does not exist".

    scoped_related = {"patient": Action.ADD} restricts the field's queryset with the access rule for the
    request's user (schema generation, which has no request, leaves the empty queryset in place).
    """

    scoped_related: ClassVar[dict[str, Action]] = {}
    fields: dict[str, Any]
    context: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        request = self.context.get("request")
        for name, action in self.scoped_related.items():
            if name in self.fields and request is not None:
                field = self.fields[name]
                field.queryset = field.queryset.model._default_manager.restrict(request.user, action)
