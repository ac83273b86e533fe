"""One worklist per user: the registry's items plus the registered sources' (SAE clocks), per role, bounded queries."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType

from conftest import Actors, api_client
from trials.models import ProtocolDeviation
from trials.oversight.services.queries import data_query_answer, data_query_raise
from trials.safety.services.assessment import adverse_event_sponsor_assess
from trials.safety.services.clocks import reporting_clocks_sweep
from trials.safety.services.events import adverse_event_report
from trials.safety.tests.helpers import grant, make_subject, make_trial

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
AWARE = datetime(2026, 2, 27, 20, 0, tzinfo=SH)
URL = "/api/v1/worklist/"


def serious(actors: Actors, subject):  # type: ignore[no-untyped-def]
    return adverse_event_report(actor=actors.coordinator_a, subject=subject, data={
        "meddra_code": "10002272", "onset_date": date(2026, 2, 27), "grade": 3, "serious_hospitalisation": True,
        "site_awareness_at": AWARE, "relatedness": "probable", "expectedness": "unexpected",
        "action_taken": "not_applicable", "outcome": "recovering"})


@pytest.fixture
def clocks(actors: Actors):  # type: ignore[no-untyped-def]
    """Three SAEs at hospital A whose 24-hour clocks lapse, and three SUSARs whose 15-day clocks are about to lapse."""
    trial = make_trial()
    grant(actors.sponsor, trial, "sponsor")
    subjects = [make_subject(actors.coordinator_a, actors.hospital_a, trial) for _ in range(3)]
    with time_machine.travel(AWARE + timedelta(hours=1), tick=False):
        events = [serious(actors, s) for s in subjects]
    with time_machine.travel(datetime(2026, 2, 28, 9, 0, tzinfo=SH), tick=False):
        for event in events:
            adverse_event_sponsor_assess(actor=actors.sponsor, event=event, expectedness="unexpected", causality="possible",
                                         sponsor_awareness_at=datetime(2026, 2, 28, 8, 0, tzinfo=SH))
    with time_machine.travel(datetime(2026, 3, 13, 9, 0, tzinfo=SH), tick=False):
        reporting_clocks_sweep()
    return subjects


def items_of(client):  # type: ignore[no-untyped-def]
    response = client.get(URL, {"page_size": 500})
    assert response.status_code == 200
    return response.json()["results"]


def test_the_sponsor_sees_its_susar_clocks_and_no_study_ids(actors: Actors, clocks, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = api_client(actors.sponsor)
    with django_assert_max_num_queries(10):
        items = items_of(client)
    assert len(items) == 3 and {i["kind"] for i in items} == {"sae_clock_due"}
    numbers = {s.subject_number for s in clocks}
    for item in items:
        assert item["study_id"] == "" and any(n in item["title"] for n in numbers)
        assert item["link"].startswith("/api/v1/") and item["due_at"]
        assert all(s.patient.study_id not in item["title"] for s in clocks)


def test_the_site_sees_its_late_24_hour_clocks_and_others_nothing(actors: Actors, clocks,
                                                                   django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = api_client(actors.coordinator_a)
    # 12, plus one for uploads on hold (imaging/worklist.py: coordinators review the wrong-patient guard's holds).
    with django_assert_max_num_queries(13):
        items = items_of(client)
    clock_items = [i for i in items if i["kind"].startswith("sae_clock")]
    assert len(clock_items) == 3 and {i["kind"] for i in clock_items} == {"sae_clock_late"}
    assert not [i for i in items_of(api_client(actors.coordinator_b)) if i["kind"].startswith("sae_clock")]
    assert items_of(api_client(actors.nobody)) == []


def test_open_protocol_deviations_are_listed_for_the_investigator_not_the_sponsor(actors: Actors, clocks,
                                                                          django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for subject in clocks:
        ProtocolDeviation.objects.create(subject=subject, kind=ProtocolDeviation.Kind.OTHER, detected_at=AWARE, description="x")
    client = api_client(actors.investigator_a)
    # 13, plus one query per investigator source: AEs to sign, MIBG studies to score, draft sheets, blinded reads.
    with django_assert_max_num_queries(17):
        items = [i for i in items_of(client) if i["kind"] == "deviation_to_review"]
    assert len(items) == 3 and all(i["study_id"] == "" and "/api/v1/" in i["link"] for i in items)
    assert not [i for i in items_of(api_client(actors.sponsor)) if i["kind"] == "deviation_to_review"]
    assert not [i for i in items_of(api_client(actors.coordinator_b)) if i["kind"] == "deviation_to_review"]


def test_data_queries_open_for_the_site_answered_for_the_monitor(actors: Actors, clocks,
                                                                 django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    subject_type = ContentType.objects.get_for_model(clocks[0])
    queries = [data_query_raise(actor=actors.monitor_a, content_type=subject_type, object_id=s.pk, field_name="status",
                                text="please check") for s in clocks]
    data_query_answer(actor=actors.coordinator_a, query=queries[0], text="checked")
    client = api_client(actors.coordinator_a)
    with django_assert_max_num_queries(13):
        site = [i for i in items_of(client) if i["kind"].startswith("query_")]
    assert sorted(i["kind"] for i in site) == ["query_to_answer", "query_to_answer"]
    assert all("please check" not in i["title"] for i in site)
    monitor = [i for i in items_of(api_client(actors.monitor_a)) if i["kind"].startswith("query_")]
    assert [i["kind"] for i in monitor] == ["query_to_close"]
