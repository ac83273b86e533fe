"""Every /api/v1/ and /dicomweb/ endpoint x every standard actor: status codes and, for lists, exactly what is visible."""
import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from conftest import ACTOR_NAMES, Actors, api_client
from tests.matrix import Case, World, all_cases

CASES = all_cases()


@pytest.fixture
def world(actors: Actors) -> World:
    return World(actors=actors)


def _outcome(world: World, case: Case, actor: str, capture) -> str | None:  # type: ignore[no-untyped-def]
    """What went wrong for one actor, or None."""
    client = api_client(world.actors.by_name(actor))
    url = reverse(case.url_name, args=case.args(world))
    data = case.data(world, actor) if case.data else None
    with capture(execute=False):
        response = getattr(client, case.method)(url, data=data, format=case.format)
    if response.status_code != case.expect[actor]:
        return f"{actor}: {response.status_code} instead of {case.expect[actor]}: {response.content[:300]!r}"
    if case.visible is not None and response.status_code == 200:
        returned = {row[case.id_field] for row in response.json()["results"]}
        seen = {key for key in case.universe if case.row_id(world[key]) in returned}
        if seen != case.visible_to(actor):
            return f"{actor}: sees {sorted(seen)} instead of {sorted(case.visible_to(actor))}"
    return None


@pytest.mark.parametrize(("arrange", "case"), CASES, ids=[c.name for _, c in CASES])
def test_endpoint_as_every_actor(world: World, arrange, case: Case, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """The world is arranged once per case; each actor's call runs in a savepoint rolled back afterwards, so a
    write by one actor (an enrolment, an upload) never changes what the next actor meets."""
    arrange(world)
    failures = []
    for actor in ACTOR_NAMES:
        with transaction.atomic():
            failures.append(_outcome(world, case, actor, django_capture_on_commit_callbacks))
            transaction.set_rollback(True)
    assert [f for f in failures if f] == []


def _api_url_names(resolver: URLResolver, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            names |= _api_url_names(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith(("api/v1/", "dicomweb/")) and pattern.name:
            names.add(pattern.name)
    return names


def test_every_api_endpoint_is_in_the_matrix() -> None:
    covered = {case.url_name for _, case in CASES}
    assert _api_url_names(get_resolver()) - covered == set()
