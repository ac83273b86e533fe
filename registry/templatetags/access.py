"""`{% may user "change" obj as can_edit %}`: templates ask registry.access the same question as services and views.

`obj` may be a record, a model class, a model named "app_label.model" (the menus: "may this user view some patient?"),
or nothing for a Rule. A model that is not installed answers False (a menu of a page that does not exist).
"""
from typing import Any

from django import template
from django.apps import apps

from registry import access

register = template.Library()


@register.simple_tag
def may(user: Any, action: str, obj: Any = None) -> bool:
    """Whether `user` may do `action` (view/add/change/delete or a registry.access.Rule name) on `obj`."""
    if isinstance(obj, str):
        try:
            obj = apps.get_model(obj)
        except (LookupError, ValueError):
            return False
    return access.may(user, action, obj)


@register.simple_tag
def may_any(user: Any, *rules: str) -> bool:
    """Whether `user` holds any of these rules anywhere (a menu entry that serves several roles)."""
    return any(access.may(user, rule) for rule in rules)
