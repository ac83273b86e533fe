"""Rows the registry's data migrations create, re-creatable (idempotently) after a flush.

Migrations 0002 and 0004 call these with the historical models; transactional tests, whose database
is flushed between tests, call restore() with the current ones.
"""
from typing import Any

DEFAULT_PLAN = {
    "name": "Registry default",
    "rules": [
        {"until_month": 24, "every_months": 3},
        {"until_month": 60, "every_months": 6},
        {"until_month": None, "every_months": 12},
    ],
    "window_days": 14,
    "horizon_years": 10,
}


def chain_head_and_system_user(apps: Any) -> None:
    apps.get_model("registry", "AuditChainHead").objects.get_or_create(pk=1)
    # The actor for seeds, sweeps and bootstrap commands; it cannot log in.
    apps.get_model("registry", "User").objects.get_or_create(username="system", defaults={"password": "!", "is_active": False})


def flag_system_actor(apps: Any) -> None:
    # Access rules recognise the system actor by this flag, never by its username (0007 adds the field).
    apps.get_model("registry", "User").objects.filter(username="system").update(is_system_actor=True)


def default_plan(apps: Any) -> None:
    fields = {k: v for k, v in DEFAULT_PLAN.items() if k != "name"}
    apps.get_model("registry", "FollowUpPlan").objects.get_or_create(
        name=DEFAULT_PLAN["name"], defaults={**fields, "is_default": True})


def restore() -> None:
    from django.apps import apps

    chain_head_and_system_user(apps)
    flag_system_actor(apps)
    default_plan(apps)
