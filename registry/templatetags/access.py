"""`{% may user "change" obj as can_edit %}`: templates ask registry.access the same question as services and views."""
from typing import Any

from django import template

from registry import access

register = template.Library()


@register.simple_tag
def may(user: Any, action: str, obj: Any = None) -> bool:
    """Whether `user` may do `action` (view/add/change/delete or a registry.access.Rule name) on `obj`."""
    return access.may(user, action, obj)
