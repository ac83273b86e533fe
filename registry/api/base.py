"""The base viewset: applies the access rule once, for every API endpoint built on it."""
from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from rest_framework import exceptions, viewsets
from rest_framework.request import Request
from rest_framework.serializers import Serializer

from registry.access import Action, scope_for

_METHOD_ACTIONS = {"POST": Action.ADD, "PUT": Action.CHANGE, "PATCH": Action.CHANGE, "DELETE": Action.DELETE}


class ScopedViewSetMixin:
    """Lists and lookups see only the caller's scope (out of scope -> 404).

    A write additionally needs the write action's scope on the object: a monitor may GET a record but
    a PATCH to it answers 403, because the record's existence is already known to them.
    """

    request: Request
    scoped_queryset: ClassVar[QuerySet[Any]]

    def get_queryset(self) -> QuerySet[Any]:
        return self.scoped_queryset.all().restrict(self.request.user, Action.VIEW)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        # A create has no object to check: refuse it when the role may add this kind of row nowhere.
        if getattr(self, "action", None) == "create" and request.user.is_authenticated:
            model = self.get_queryset().model
            if model.scope_q(scope_for(request.user), Action.ADD) is None:
                raise exceptions.PermissionDenied("Your role does not allow adding this.")

    def validated(self, serializer_class: type[Serializer], *, partial: bool = False) -> dict[str, Any]:
        """The request body checked by an input serializer (400 naming the fields), as a plain dict."""
        payload = serializer_class(data=self.request.data, context={"request": self.request}, partial=partial)
        payload.is_valid(raise_exception=True)
        return dict(payload.validated_data)

    def check_object_permissions(self, request: Request, obj: Model) -> None:
        super().check_object_permissions(request, obj)  # type: ignore[misc]
        action = _METHOD_ACTIONS.get(request.method or "")
        if action is None:
            return
        allowed = type(obj)._default_manager.restrict(request.user, action).filter(pk=obj.pk).exists()
        if not allowed:
            raise exceptions.PermissionDenied("Your role does not allow this change.")


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
