"""The worklist by urgency, counted and paged in SQL (issue #19 item 2, issue #17 "one long worklist").

- Groups in order: SAE clocks late, then about to lapse; the user's own signatures and scoring; visits overdue, then
  due; then the rest. Each with its count; the home page shows the first PER_GROUP, "N more" links to the group's page.
- A user with 1,000 items costs the same queries as one with 10, on the home page, the API and the group page, and no
  more rows are read than the page shows (pinned per role below).
"""
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import Actors, api_client
from registry.audit import audit_record
from registry.models import FollowUpVisit, Patient
from registry.selectors import worklist, worklist_groups, worklist_page
from registry.tests.builders import make_patient
from registry.views import GROUP_PAGE_SIZE, PER_GROUP
from tests.test_worklist import clocks  # noqa: F401 (fixture: 3 late site clocks at A, 3 SUSAR clocks due)

pytestmark = pytest.mark.django_db


def overdue_visits(actors: Actors, n: int, *, patients: int = 10) -> list[Patient]:
    """n overdue visits at hospital A, built in bulk (the patients through the service, the visits in one INSERT)."""
    made = [make_patient(actors.coordinator_a, actors.hospital_a) for _ in range(patients)]
    start = date(2020, 1, 1)
    FollowUpVisit.objects.bulk_create([
        FollowUpVisit(patient=made[i % patients], number=500 + i // patients, target_date=start + timedelta(days=i),
                      window_start=start + timedelta(days=i - 14), window_end=start + timedelta(days=i + 14),
                      status=FollowUpVisit.Status.OVERDUE) for i in range(n)])
    # As a service would (the follow-up sweep writes one event per run): pages and the API cache the worklist until
    # the next audited write.
    audit_record(actor=actors.data_manager, action="mark_statuses", object_type="registry.followupvisit", object_id="bulk")
    return made


def queries(fn) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return len(ctx.captured_queries), result


def test_the_investigators_worklist_puts_the_late_sae_clock_first_then_their_signatures(actors: Actors, clocks) -> None:  # noqa: F811
    overdue_visits(actors, 30, patients=3)
    groups = worklist_groups(user=actors.investigator_a, limit=PER_GROUP)
    keys = [g.key for g in groups]
    assert keys[:2] == ["sae_clock_late", "ae_to_sign"] and keys.index("visit_overdue") > keys.index("ae_to_sign")
    late = groups[0]
    assert late.count == 3 and all(i.due_at for i in late.items)
    assert [g.count for g in groups if g.key == "visit_overdue"] == [30]
    assert len(next(g for g in groups if g.key == "visit_overdue").items) == PER_GROUP  # the page, not the group
    # The sponsor: its SUSAR clocks only, no registry item.
    assert [g.key for g in worklist_groups(user=actors.sponsor)] == ["sae_clock_due"]
    assert worklist_groups(user=actors.nobody) == []


def test_one_flat_page_spans_groups_in_order_and_the_group_filter(actors: Actors, clocks) -> None:  # noqa: F811
    overdue_visits(actors, 7, patients=1)
    everything = worklist(user=actors.investigator_a)
    pages = [worklist_page(user=actors.investigator_a, offset=o, limit=4)[1] for o in range(0, len(everything) + 4, 4)]
    assert [i for page in pages for i in page] == everything  # the pages cut the same list, in the same order
    groups, items = worklist_page(user=actors.investigator_a, offset=5, limit=5, only="visit_overdue")
    assert [g.key for g in groups] == ["visit_overdue"] and groups[0].count == 7
    assert [i.visit_id for i in items] == [i.visit_id for i in everything if i.kind == "visit_overdue"][5:]


# Measured: session and user (2), the user's memberships (2), the session's save (3), the audit head (1); then the
# consent documents for the two consent groups (2), the older data-query source (1), every group's count in one
# statement (1) and one LIMIT/OFFSET query per group the page reaches. A user without a role runs none of the groups'
# queries. Until the next audited write the same request is served from the cache: session, user, audit head, save.
@pytest.mark.parametrize("name, pin", [("coordinator_a", 13), ("investigator_a", 13), ("data_manager", 13),
                                       ("monitor_a", 9), ("sponsor", 8), ("nobody", 8)])
def test_api_queries_per_role_do_not_grow_with_a_thousand_items(actors: Actors, name: str, pin: int) -> None:
    user = getattr(actors, name)
    client = api_client(user)
    client.get("/api/v1/me/")
    overdue_visits(actors, 10, patients=2)
    few, response = queries(lambda: client.get("/api/v1/worklist/", {"page_size": 25}))
    assert response.status_code == 200  # type: ignore[attr-defined]
    overdue_visits(actors, 1000)
    many, response = queries(lambda: client.get("/api/v1/worklist/", {"page_size": 25}))
    body = response.json()  # type: ignore[attr-defined]
    assert many == few and many <= pin, (few, many)
    again, cached = queries(lambda: client.get("/api/v1/worklist/", {"page_size": 25}))
    assert again == 6 and cached.json() == body  # type: ignore[attr-defined]
    sees = name in ("coordinator_a", "investigator_a", "data_manager")
    assert body["count"] == (1010 if sees else 0) and len(body["results"]) == (25 if sees else 0)
    if sees:
        assert body["groups"] == [{"key": "visit_overdue", "heading": "Follow-up visits overdue", "count": 1010,
                                   "link": "/api/v1/worklist/?group=visit_overdue"}]
        last = client.get("/api/v1/worklist/", {"page_size": 25, "page": 41, "group": "visit_overdue"}).json()
        assert len(last["results"]) == 10 and last["next"] is None and "page=40" in last["previous"]


def test_the_home_page_with_a_thousand_items_shows_counts_and_links_to_the_group_page(client, actors: Actors) -> None:
    client.force_login(actors.coordinator_a)
    overdue_visits(actors, 10, patients=2)
    client.get(reverse("home"))
    audit_record(actor=actors.data_manager, action="touch", object_type="registry.followupvisit", object_id="bulk")
    few, _r = queries(lambda: client.get(reverse("home")))  # built again after an audited write
    cached, _r = queries(lambda: client.get(reverse("home")))
    overdue_visits(actors, 1000)
    many, response = queries(lambda: client.get(reverse("home")))
    assert many == few and cached < few - 4, (few, cached, many)
    html = response.content.decode()  # type: ignore[attr-defined]
    [group] = response.context["groups"]  # type: ignore[attr-defined]
    assert group["count"] == 1010 and len(group["rows"]) == PER_GROUP and group["more"] == 1010 - PER_GROUP
    more = reverse("web-worklist-group", args=["visit_overdue"])
    assert f'href="{more}" data-testid="more-visit_overdue"' in html and "<details" in html
    page_queries, page = queries(lambda: client.get(more, {"page": 41}))
    assert page.status_code == 200 and page_queries <= many + 1  # type: ignore[attr-defined]
    rows = page.context["group"]["rows"]  # type: ignore[attr-defined]
    assert len(rows) == 1010 - 40 * GROUP_PAGE_SIZE and page.context["pages"] == 41  # type: ignore[attr-defined]
    assert client.get(reverse("web-worklist-group", args=["no_such_group"])).status_code == 404
    client.force_login(actors.coordinator_b)  # another hospital's visits are not in its group page
    assert client.get(more).context["group"]["count"] == 0


def test_bad_paging_parameters_are_a_400_with_a_code(actors: Actors) -> None:
    response = api_client(actors.coordinator_a).get("/api/v1/worklist/", {"page": "x"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_parameters"


def test_the_side_panels_clocks_link_to_their_page(client, actors: Actors, clocks) -> None:  # noqa: F811
    """The running-clocks panel (reports/web/home.py) links each clock to its page, which opens the event at it."""
    from trials.safety.models import ReportingClock

    ReportingClock.objects.filter(status=ReportingClock.Status.LATE).update(status=ReportingClock.Status.OPEN)
    client.force_login(actors.coordinator_a)
    html = client.get(reverse("home")).content.decode()
    running = ReportingClock.objects.filter(status=ReportingClock.Status.OPEN, kind=ReportingClock.Kind.SITE_24H)
    assert running.count() == 3
    for clock in running:
        assert f'href="{reverse("web-clock-detail", args=[clock.pk])}" data-testid="panel-clock-link"' in html


def test_the_apis_cached_rows_are_what_the_serializer_documents(actors: Actors, clocks) -> None:  # noqa: F811
    """WorkItem.as_row (built once, cached with the page) writes what WorkItemSerializer would, dates and zones too."""
    from dataclasses import asdict

    from registry.api.followup import WorkItemSerializer

    overdue_visits(actors, 3, patients=1)
    items = worklist(user=actors.investigator_a) + worklist(user=actors.sponsor)
    assert {i.kind for i in items} >= {"sae_clock_late", "sae_clock_due", "ae_to_sign", "visit_overdue"}
    for item in items:
        assert item.as_row() == dict(WorkItemSerializer(asdict(item)).data)
