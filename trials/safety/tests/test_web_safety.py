"""Adverse-event pages with the test client: CTCAE search and grade help, the report form and its refusals, the SAE
clock panel, the e-signature (password re-entry), and data query threads (raise, answer, close) per role."""
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from conftest import PASSWORD, Actors
from trials.oversight.models import DataQuery, Signature
from trials.safety.models import AdverseEvent, ReportingClock
from trials.safety.services.events import adverse_event_report
from trials.tests.test_web_fixtures import ANEMIA, World, ae_data, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_ctcae_search_and_grade_descriptions(client, actors: Actors) -> None:
    client.force_login(actors.coordinator_a)
    found = client.get(reverse("web-ctcae-search"), {"q": "anemi"}).content.decode()
    assert "Anemia" in found and ANEMIA in found
    assert "No CTCAE term matches" in client.get(reverse("web-ctcae-search"), {"q": "zzzzqq"}).content.decode()
    term = client.get(reverse("web-ctcae-term"), {"code": ANEMIA}).content.decode()
    assert 'data-testid="grade-help"' in term and "Grade 4" in term and "Hemoglobin (Hgb) &lt;LLN - 10.0 g/dL" in term
    assert f'value="{ANEMIA}"' in term


def _form(**overrides: str) -> dict:
    data = {"meddra_code": ANEMIA, "onset_date": timezone.localdate().isoformat(), "grade": "2", "relatedness": "possible",
            "expectedness": "expected", "action_taken": "not_applicable", "outcome": "recovering"}
    data.update(overrides)
    return data


def test_ae_report_refusal_keeps_input_then_reports(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    url = reverse("web-ae-create", args=[world.subject_a.pk])
    assert "Search the CTCAE v5.0 terms" in client.get(url).content.decode()
    response = client.post(url, _form(relatedness="", serious_hospitalisation="on"))
    text = response.content.decode()
    assert response.status_code == 400 and "Required: relatedness." in text
    assert 'data-testid="chosen-term">Anemia<' in text
    assert re.search(r'<input type="checkbox" name="serious_hospitalisation"[^>]* checked', text)  # what was typed is kept
    # Half an hour ago, but not before today's midnight: the onset is today, and awareness before it is refused
    # (run in the half hour after midnight, the plain "30 minutes ago" was yesterday and the test failed).
    now = timezone.localtime()
    aware = max(now - timedelta(minutes=30), now.replace(hour=0, minute=0)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, _form(serious_hospitalisation="on", site_awareness_at=aware))
    event = AdverseEvent.objects.get(subject=world.subject_a, number=2)
    assert response.status_code == 302 and response["Location"] == reverse("web-ae-detail", args=[event.pk])
    page = client.get(response["Location"]).content.decode()
    assert "SAE report to the sponsor (24 hours from site awareness)" in page and 'data-testid="clock-table"' in page
    clock = ReportingClock.objects.get(event=event)
    assert date_format(timezone.localtime(clock.due_at), "SHORT_DATETIME_FORMAT") in page  # due time in Asia/Shanghai


def test_ae_grade_the_term_lacks_is_refused_next_to_the_grade(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    response = client.post(reverse("web-ae-create", args=[world.subject_a.pk]), _form(meddra_code="10013442", grade="1"))
    assert response.status_code == 400
    assert "Select a valid choice. 1 is not one of the available choices." in response.content.decode()  # DIC has no grade 1


def test_sponsor_and_monitor_cannot_report(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.sponsor)
    response = client.post(reverse("web-ae-create", args=[world.subject_a.pk]), _form())
    assert response.status_code == 400 and "This subject is not in your hospitals and trials." in response.content.decode()
    assert 'data-testid="sign-dialog"' not in client.get(reverse("web-ae-detail", args=[world.event_a.pk])).content.decode()


def test_signature_needs_the_password_and_shows_its_meaning(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.investigator_a)
    page = client.get(reverse("web-ae-detail", args=[world.event_a.pk])).content.decode()
    assert "Assessed as investigator" in page and 'data-testid="sign-dialog"' in page
    url = reverse("web-ae-sign", args=[world.event_a.pk])
    response = client.post(url, {"meaning": Signature.Meaning.ASSESSED, "password": "wrong"})
    assert response.status_code == 400 and "Incorrect password." in response.content.decode()
    assert "getOrCreateInstance" in response.content.decode()  # the dialog opens again with the error
    assert not Signature.objects.exists()
    response = client.post(url, {"meaning": Signature.Meaning.ASSESSED, "password": PASSWORD})
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert signature.signer == actors.investigator_a and signature.status == Signature.Status.VALID
    assert "investigator_a" in client.get(reverse("web-ae-detail", args=[world.event_a.pk])).content.decode() or signature.printed_name


def test_coordinator_cannot_sign(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    assert 'data-testid="sign-dialog"' not in client.get(reverse("web-ae-detail", args=[world.event_a.pk])).content.decode()
    response = client.post(reverse("web-ae-sign", args=[world.event_a.pk]), {"meaning": Signature.Meaning.ASSESSED, "password": PASSWORD})
    assert response.status_code == 400 and "Only an investigator of this record&#x27;s hospital can sign it." in response.content.decode()


def test_query_thread_raise_answer_close(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.monitor_a)
    response = client.post(reverse("web-ae-query-raise", args=[world.event_a.pk]), {"field_name": "onset_date", "text": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    response = client.post(reverse("web-ae-query-raise", args=[world.event_a.pk]),
                           {"field_name": "onset_date", "text": "Please confirm the onset date."})
    query = DataQuery.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web-query-detail", args=[query.pk])
    # The monitor cannot answer their own query; the site can.
    response = client.post(reverse("web-query-action", args=[query.pk, "answer"]), {"text": "x"})
    assert response.status_code == 400 and "Only the site" in response.content.decode()
    client.force_login(actors.coordinator_a)
    page = client.get(reverse("web-query-detail", args=[query.pk])).content.decode()
    assert "Please confirm the onset date." in page and f"AE 1 of {world.subject_a.subject_number}" in page
    assert client.post(reverse("web-query-action", args=[query.pk, "answer"]), {"text": "Confirmed from the chart."}).status_code == 302
    client.force_login(actors.monitor_a)
    assert client.post(reverse("web-query-action", args=[query.pk, "close"]), {"text": ""}).status_code == 302
    query.refresh_from_db()
    assert query.status == DataQuery.Status.CLOSED and query.messages.count() == 3
    client.force_login(actors.coordinator_b)
    assert client.get(reverse("web-query-detail", args=[query.pk])).status_code == 404
    assert client.post(reverse("web-query-action", args=[query.pk, "reopen"]), {"text": "x"}).status_code == 404


def test_trial_monitor_sees_queries_across_sites_sponsor_sees_counts_only(client, actors: Actors, world: World,  # noqa: F811
                                                                          django_assert_max_num_queries) -> None:
    from django.contrib.contenttypes.models import ContentType

    from trials.oversight.services.queries import data_query_raise

    ae_type = ContentType.objects.get_for_model(AdverseEvent)
    for event in (world.event_a, world.event_b):
        data_query_raise(actor=actors.trial_monitor, content_type=ae_type, object_id=event.pk, field_name="grade",
                         text="Grade secret text")
    for i in range(3):  # more rows must not mean more queries
        extra = adverse_event_report(actor=actors.coordinator_b, subject=world.subject_b, data=ae_data())
        data_query_raise(actor=actors.trial_monitor, content_type=ae_type, object_id=extra.pk, field_name="grade", text=f"q{i}")
    client.force_login(actors.trial_monitor)
    with django_assert_max_num_queries(14):
        page = client.get(reverse("web-query-list")).content.decode()
    assert world.subject_a.subject_number in page and world.subject_b.subject_number in page
    assert "AAA" in page and "BBB" in page
    client.force_login(actors.coordinator_a)
    page = client.get(reverse("web-query-list")).content.decode()
    assert world.subject_a.subject_number in page and world.subject_b.subject_number not in page
    client.force_login(actors.sponsor)
    page = client.get(reverse("web-query-list")).content.decode()
    assert "Grade secret text" not in page and 'data-testid="query-table"' not in page and 'data-testid="query-counts"' in page
    assert client.get(reverse("web-query-detail", args=[DataQuery.objects.first().pk])).status_code == 404
