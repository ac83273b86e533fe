"""Every URL of the project x every standard actor: status codes, for lists exactly what is visible, and nothing
written by a refused request.

Each arrangement's world is built once, not once per case: the `world` fixture is module-scoped and parametrised by
the arrangement, so pytest runs the cases of one arrangement together. Each case runs in the test's own savepoint
and each actor's request in a savepoint inside it, both rolled back, so a write by one actor (an enrolment, an
upload) never changes what the next actor or the next case meets.
"""
import importlib
import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from conftest import ACTOR_NAMES, api_client, build_actors
from registry.models import AuditEvent
from tests.matrix import Case, World, all_cases

CASES = all_cases()

# URL patterns without a case, on purpose: each reads no clinical data, or is tested elsewhere.
PUBLIC_URL_NAMES = {
    "login", "logout",  # the login form and logging out (tests/test_accounts.py)
    "set_language",  # i18n: stores the chosen language in a cookie
    "healthz",  # the liveness probe (database and broker up?), for the load balancer
    "schema", "swagger-ui", "redoc",  # the OpenAPI description of the API and its viewers: no data
    "favicon",  # a redirect to the static icon (tests/test_error_pages.py)
}
# Django's admin: superusers only, every model's access checked by its own tests (tests/test_admin.py).
PUBLIC_PREFIXES = ("admin/",)


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, django_db_setup, django_db_blocker) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """The world of one arrangement, built once for all its cases (pytest groups the cases by arrangement) in a
    transaction rolled back when the next arrangement's cases start; each case runs in a savepoint of its own."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = World(actors=build_actors())
        request.param(built)
        yield built
        transaction.set_rollback(True)


def _writes() -> int:
    """Audit events other than recorded refusals (a refused signature is evidence too): every write is audited."""
    return AuditEvent.objects.exclude(action__endswith="_refused").count()


def _gist(response: HttpResponse) -> str:
    """What a response says: a page's error messages (else its main text) without markup, or the raw body."""
    body = response.content.decode(errors="replace") if not response.streaming else "(streamed)"
    if response.get("Content-Type", "").startswith("text/html"):
        errors = re.findall(r'class="[^"]*(?:invalid-feedback|alert-danger|errorlist)[^"]*"[^>]*>(.*?)</(?:div|ul|p)', body, re.S)
        body = " | ".join(errors) if errors else body.partition("<main")[2] or body
        body = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
    return body.strip()[:300]


def _shown(world: World, case: Case, response: HttpResponse) -> set[str]:
    """The world's rows a list shows: by id in an API page of results, by their identifier in a web page's text."""
    if response["Content-Type"].startswith("application/json"):
        returned = {row[case.id_field] for row in response.json()["results"]}
        return {key for key in case.universe if case.row_id(world[key]) in returned}
    text = response.content.decode()
    return {key for key in case.universe if str(case.row_id(world[key])) in text}


def _outcome(world: World, case: Case, actor: str, capture) -> str | None:  # type: ignore[no-untyped-def]
    """What went wrong for one actor, or None."""
    client = api_client(world.actors.by_name(actor))
    url = reverse(case.url_name, args=case.args(world))
    data = case.data(world, actor) if case.data else None
    expected = case.expect[actor]
    refused = actor == "anonymous" or expected >= 400
    writes = _writes() if refused else 0
    with capture(execute=False):
        response = getattr(client, case.method)(url, data=data, format=case.format)
    if response.status_code != expected:
        return f"{actor}: {response.status_code} instead of {expected}: {_gist(response)}"
    if actor == "anonymous" and expected == 302 and not response.url.startswith(resolve_url(settings.LOGIN_URL)):
        return f"anonymous: redirected to {response.url}, not to the login page"
    if refused and _writes() != writes:
        return f"{actor}: refused ({expected}) but {_writes() - writes} audit event(s) written"
    if case.visible is not None and response.status_code == 200:
        seen = _shown(world, case, response)
        if seen != case.visible_to(actor):
            return f"{actor}: sees {sorted(seen)} instead of {sorted(case.visible_to(actor))}"
    return None


@pytest.mark.django_db
@pytest.mark.parametrize(("world", "case"), CASES, indirect=["world"], scope="module", ids=[c.name for _, c in CASES])
def test_url_as_every_actor(world: World, case: Case, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    failures = []
    for actor in ACTOR_NAMES:
        with transaction.atomic():
            failures.append(_outcome(world, case, actor, django_capture_on_commit_callbacks))
            transaction.set_rollback(True)
    problems = [f for f in failures if f]
    assert not problems, "\n".join(problems)


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, str | None]]:
    """(route, name) of every URL pattern, however deeply included."""
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.name


def test_every_url_is_in_the_matrix() -> None:
    covered = {case.url_name for _, case in CASES}
    missing = sorted(f"{route} ({name})" for route, name in _patterns(get_resolver())
                     if name not in covered and name not in PUBLIC_URL_NAMES and not route.startswith(PUBLIC_PREFIXES))
    assert missing == []


def test_case_names_are_unique() -> None:
    names = [case.name for _, case in CASES]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_stored_files_are_not_served_from_media_url_even_with_debug() -> None:
    """Django's static() would serve every stored file (consent scans, DICOM, report files) to anyone once DEBUG is on,
    as in the laptop demo: config.urls adds no such route, so a file leaves only through a view that checks access."""
    import config.urls

    try:
        with override_settings(DEBUG=True):
            patterns = [str(p.pattern) for p in importlib.reload(config.urls).urlpatterns]
    finally:
        importlib.reload(config.urls)
    assert [p for p in patterns if settings.MEDIA_URL.strip("/") in p] == []
