"""Property-based API tests (schemathesis): every documented operation, each as a coordinator or as a data manager.

The schema is the project's own OpenAPI document (drf-spectacular, built in-process); requests go through the WSGI app,
no server, into a small demo world (seed_demo: hospitals, the demo logins, patients, trials, imaging, reading), so that
generated ids such as 1 reach real rows. Each operation runs as one of the two roles (by a stable hash of its label) with a bounded number of cases:
- coverage phase (boundary and invalid values of every parameter: year 0, 1e20, missing or unknown enum values, ...)
  for reads only: for writes it makes hundreds of bodies per operation, beyond this file's time budget;
- fuzzing phase (random valid and invalid requests), MAX_EXAMPLES per operation and role, for every operation.
Two checks: no response is a server error, and every response matches the schema (status, body).
Nothing is excluded: uploads (multipart) are generated like any other body and refused or accepted per file.
"""
import io
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from registry.models import User

MAX_EXAMPLES = 5
# The demo logins (registry/demo/people.py): a coordinator of one hospital and the every-hospital data manager.
ROLES = ("coord_bjyy", "datamanager")

CONFIG = SchemathesisConfig.from_dict({
    # Undocumented methods (TRACE, ...) are Django's and DRF's 405, not ours: the coverage phase skips them.
    "phases": {"examples": {"enabled": False}, "stateful": {"enabled": False},
               "coverage": {"enabled": True, "unexpected-methods": []}, "fuzzing": {"enabled": True}},
    "operations": [{"include-method": ["POST", "PUT", "PATCH", "DELETE"], "phases": {"coverage": {"enabled": False}}}],
})
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True), config=CONFIG)
schema.app = get_wsgi_application()


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A small demo network, built once for the module in a transaction rolled back at its end.

    Requests go through the real WSGI handler, whose request signals close the database connection (and with it this
    transaction, on PostgreSQL): as Django's test client does, they are disconnected while the module runs.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            call_command("seed_demo", patients=12, scale=0.05, verbosity=0, stdout=io.StringIO())
            yield
            transaction.set_rollback(True)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(demo_world: None, db: None) -> dict[str, str]:
    return {role: Token.objects.get_or_create(user=User.objects.get(username=role))[0].key for role in ROLES}


def role_for(operation_label: str) -> str:
    """One role per operation, alternating by a stable hash of its label: both roles together cover every operation
    class while each operation runs once (running every operation as both doubled the suite's longest file)."""
    return ROLES[zlib.crc32(operation_label.encode()) % len(ROLES)]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_api(case: Any, tokens: dict[str, str]) -> None:
    token = tokens[role_for(case.operation.label)]
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=[not_a_server_error, response_schema_conformance])
