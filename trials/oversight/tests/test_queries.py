"""Data queries: who raises, answers, closes and re-opens; field validation; worklists and sponsor counts."""
import pytest
from django.contrib.contenttypes.models import ContentType

from conftest import Actors
from registry.errors import ApplicationError
from registry.models import AuditEvent, Patient
from registry.tests.builders import consented_patient
from trials.oversight.models import DataQuery
from trials.oversight.selectors import data_query_worklist, open_query_counts
from trials.oversight.services.queries import data_query_answer, data_query_close, data_query_raise, data_query_reopen

pytestmark = pytest.mark.django_db
URL = "/api/v1/oversight/queries/"


@pytest.fixture
def patient(actors: Actors) -> Patient:
    return consented_patient(actors.coordinator_a, actors.hospital_a)


def raise_on(actor, record, field="primary_site", text="Adrenal on CT, thorax on MIBG: which is right?"):  # type: ignore[no-untyped-def]
    return data_query_raise(actor=actor, content_type=ContentType.objects.get_for_model(record), object_id=record.pk,
                            field_name=field, text=text)


def test_full_thread_open_answered_closed_reopened(actors: Actors, patient: Patient) -> None:
    query = raise_on(actors.monitor_a, patient)
    assert query.status == "open" and query.hospital_id == actors.hospital_a.pk and query.trial_id is None
    query = data_query_answer(actor=actors.coordinator_a, query=query, text="Adrenal, per surgery report.")
    assert query.status == "answered"
    query = data_query_reopen(actor=actors.monitor_a, query=query, text="Please attach the surgery date.")
    assert query.status == "open"
    query = data_query_answer(actor=actors.investigator_a, query=query, text="Surgery on 2020-10-02.")
    query = data_query_close(actor=actors.monitor_a, query=query)
    assert query.status == "closed" and query.closed_at is not None
    assert [m.kind for m in query.messages.all()] == ["raise", "answer", "reopen", "answer", "close"]
    actions = list(AuditEvent.objects.filter(object_type="oversight.dataquery").order_by("seq").values_list("action", flat=True))
    assert actions == ["raise_query", "answer_query", "reopen_query", "answer_query", "close_query"]


def test_the_field_must_exist_on_the_record(actors: Actors, patient: Patient) -> None:
    with pytest.raises(ApplicationError) as refused:
        raise_on(actors.monitor_a, patient, field="favourite_colour")
    assert refused.value.fields == {"field_name": ["No such field on this record."]}
    assert not DataQuery.objects.exists()


def test_who_may_do_what(actors: Actors, patient: Patient) -> None:
    with pytest.raises(ApplicationError) as coordinator_raises:
        raise_on(actors.coordinator_a, patient)
    assert coordinator_raises.value.code == "out_of_scope"
    with pytest.raises(ApplicationError):
        raise_on(actors.coordinator_b, patient)  # cannot even see the record
    query = raise_on(actors.data_manager, patient)
    with pytest.raises(ApplicationError) as monitor_answers:
        data_query_answer(actor=actors.monitor_a, query=query, text="I think so")
    assert monitor_answers.value.code == "not_allowed"
    with pytest.raises(ApplicationError) as site_closes:
        data_query_close(actor=actors.coordinator_a, query=query)
    assert site_closes.value.code == "not_allowed"
    with pytest.raises(ApplicationError) as outsider:
        data_query_answer(actor=actors.coordinator_b, query=query, text="x")
    assert outsider.value.code == "out_of_scope"
    with pytest.raises(ApplicationError) as no_reason:
        data_query_answer(actor=actors.coordinator_a, query=query, text="   ")
    assert no_reason.value.fields == {"text": ["This field is required."]}


def test_worklists_split_site_and_monitor_work(actors: Actors, patient: Patient) -> None:
    waiting_site = raise_on(actors.monitor_a, patient)
    waiting_monitor = data_query_answer(actor=actors.coordinator_a, query=raise_on(actors.monitor_a, patient, field="mycn"),
                                        text="Confirmed amplified.")
    data_query_close(actor=actors.monitor_a, query=raise_on(actors.monitor_a, patient, field="ploidy"))
    assert set(data_query_worklist(user=actors.coordinator_a)) == {waiting_site}
    assert set(data_query_worklist(user=actors.monitor_a)) == {waiting_monitor}
    assert set(data_query_worklist(user=actors.data_manager)) == {waiting_monitor}
    assert not data_query_worklist(user=actors.coordinator_b).exists()
    assert open_query_counts(user=actors.monitor_a) == [
        {"hospital_code": "AAA", "trial_id": None, "open": 1, "answered": 1}]
    assert open_query_counts(user=actors.nobody) == []


def test_api_raise_answer_and_texts_hidden_from_outsiders(actors: Actors, patient: Patient, client_for,  # type: ignore[no-untyped-def]
                                                          django_assert_max_num_queries) -> None:
    created = client_for(actors.monitor_a).post(URL, {"record_type": "registry.patient", "object_id": patient.pk,
                                                      "field_name": "inrgss_stage", "text": "Stage M or MS?"}, format="json")
    assert created.status_code == 201, created.content
    query_id = created.json()["id"]
    answered = client_for(actors.coordinator_a).post(f"{URL}{query_id}/answer/", {"text": "M"}, format="json")
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    assert [m["kind"] for m in answered.json()["messages"]] == ["raise", "answer"]
    forbidden = client_for(actors.coordinator_a).post(f"{URL}{query_id}/close/", {}, format="json")
    assert forbidden.status_code == 403
    assert client_for(actors.coordinator_b).get(f"{URL}{query_id}/").status_code == 404
    for _ in range(5):
        raise_on(actors.monitor_a, patient, field="histology")
    monitor = client_for(actors.monitor_a)
    with django_assert_max_num_queries(10):
        listed = monitor.get(URL, {"status": "open", "hospital": "AAA"})
    assert listed.json()["count"] == 5


def test_sponsors_get_counts_of_their_trials_queries_but_no_texts(actors: Actors, client_for) -> None:  # type: ignore[no-untyped-def]
    from trials.safety.tests.helpers import grant, make_subject, make_trial

    mine, other = make_trial("Q-MINE"), make_trial("Q-OTHER")
    grant(actors.sponsor, mine, "sponsor")
    grant(actors.trial_monitor, mine, "monitor")
    for trial in (mine, mine, other):
        subject = make_subject(actors.coordinator_a, actors.hospital_a, trial)
        raise_on(actors.monitor_a, subject, field="status", text="Status per the visit log?")
    trial_query = raise_on(actors.trial_monitor, make_subject(actors.coordinator_b, actors.hospital_b, mine), field="site")
    assert trial_query.trial_id == mine.pk and trial_query.hospital_id == actors.hospital_b.pk
    sponsor = client_for(actors.sponsor)
    assert sponsor.get(URL).json()["count"] == 0
    assert sponsor.get(f"{URL}{trial_query.pk}/").status_code == 404
    summary = sponsor.get(f"{URL}summary/").json()
    assert summary == [{"hospital_code": "AAA", "trial_id": mine.pk, "open": 2, "answered": 0},
                       {"hospital_code": "BBB", "trial_id": mine.pk, "open": 1, "answered": 0}]
    assert "Status per" not in str(summary)
