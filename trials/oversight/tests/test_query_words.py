"""Data query pages in the user's words (issue 17): the field chooser and the worklist name fields by their verbose
names in the page's language (not `meddra_code`, not "onset_date of a adverseevent"), an empty question is refused
with one message, and the query page links to the record it is about, for users who may see that record."""
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from conftest import Actors
from trials.models import DosingRecord
from trials.oversight.fields import field_label
from trials.oversight.models import DataQuery
from trials.oversight.services.queries import data_query_raise
from trials.oversight.worklist import data_queries
from trials.safety.models import AdverseEvent
from trials.tests.test_web_fixtures import World, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _options(html: str, select_id: str) -> dict[str, str]:
    select = re.search(rf'<select[^>]*id="{select_id}".*?</select>', html, re.S)
    assert select, select_id
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(0)))


def _raise(actor, event, field="onset_date"):  # type: ignore[no-untyped-def]
    return data_query_raise(actor=actor, content_type=ContentType.objects.get_for_model(AdverseEvent), object_id=event.pk,
                            field_name=field, text="Please confirm.")


def test_the_field_chooser_shows_verbose_names_in_both_languages(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.monitor_a)
    page = client.get(reverse("web-ae-detail", args=[world.event_a.pk])).content.decode()
    options = _options(page, "id_field_name")
    assert options["meddra_code"] != "meddra_code" and options["onset_date"] == field_label(AdverseEvent, "onset_date")
    assert not [label for name, label in options.items() if label == name], "a raw column name is offered"
    client.cookies["django_language"] = "zh-hans"
    zh = _options(client.get(reverse("web-ae-detail", args=[world.event_a.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode(),
                  "id_field_name")
    with translation.override("zh-hans"):
        assert zh["onset_date"] == field_label(AdverseEvent, "onset_date")
    # Fields left with Django's default verbose name ("grade", a dose's "visit") are found in the catalogues as the
    # pages' labels of the same word ("Grade", "Visit"): the zh-Hans crawl found them in English.
    with translation.override("zh-hans"):
        assert field_label(AdverseEvent, "grade") == translation.gettext("Grade") != "Grade"
        assert field_label(DosingRecord, "visit") == translation.gettext("Visit") != "Visit"
    with translation.override("en"):
        assert field_label(DosingRecord, "weight_kg") == "Weight at dosing (kg)"
        assert field_label(AdverseEvent, "favourite_colour") == "Favourite colour"


def test_an_empty_question_is_refused_once(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.monitor_a)
    response = client.post(reverse("web-ae-query-raise", args=[world.event_a.pk]), {"field_name": "grade", "text": ""})
    body = response.content.decode()
    assert response.status_code == 400 and body.count("This field is required.") == 1
    assert 'data-testid="form-errors"' not in body and not DataQuery.objects.exists()
    query = _raise(actors.monitor_a, world.event_a)
    client.force_login(actors.coordinator_a)
    answer = client.post(reverse("web-query-action", args=[query.pk, "answer"]), {"text": "  "})
    assert answer.status_code == 400 and answer.content.decode().count("This field is required.") == 1


def test_the_query_page_links_to_its_record_and_names_the_field(client, actors: Actors, world: World) -> None:  # noqa: F811
    query = _raise(actors.monitor_a, world.event_a, field="meddra_code")
    event_url = reverse("web-ae-detail", args=[world.event_a.pk])
    for actor in (actors.monitor_a, actors.coordinator_a, actors.trial_monitor):
        client.force_login(actor)
        page = client.get(reverse("web-query-detail", args=[query.pk])).content.decode()
        assert f'<a href="{event_url}" data-testid="query-record-link">' in page, actor
        assert field_label(AdverseEvent, "meddra_code") in page and "Query on meddra_code" not in page
    listing = client.get(reverse("web-query-list")).content.decode()
    assert f"<td>{field_label(AdverseEvent, 'meddra_code')}</td>" in listing
    client.force_login(actors.coordinator_b)  # another hospital: the query itself is out of scope
    assert client.get(reverse("web-query-detail", args=[query.pk])).status_code == 404


def test_the_worklist_names_the_field_and_the_record_in_words(actors: Actors, world: World) -> None:  # noqa: F811
    for _ in range(3):
        _raise(actors.monitor_a, world.event_a)
    with CaptureQueriesContext(connection) as queries:
        items = data_queries(actors.coordinator_a, timezone.localdate())
    assert len(items) == 3
    assert "onset_date" not in items[0].title and "adverseevent" not in items[0].title
    assert f"{field_label(AdverseEvent, 'onset_date')} (adverse event)" in items[0].title
    assert len(queries.captured_queries) <= 3  # the queries (content type and hospital joined), not one per row
    with translation.override("zh-hans"):
        zh = data_queries(actors.coordinator_a, timezone.localdate())[0].title
    assert "adverse event" not in zh and field_label(AdverseEvent, "onset_date") not in zh
