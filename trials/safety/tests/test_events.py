"""Adverse events: CTCAE validation, grade 5 rules, impossible dates, versioned follow-ups, signatures voided."""
from datetime import UTC, date, datetime

import pytest
from django.contrib.contenttypes.models import ContentType

from conftest import PASSWORD, Actors
from registry.errors import ApplicationError
from registry.models import AuditEvent, FollowUpVisit
from registry.tests.builders import refresh
from trials.oversight.models import Signature
from trials.oversight.services.signatures import signature_sign
from trials.safety import ctcae
from trials.safety.models import AdverseEvent, AdverseEventVersion, ReportingClock
from trials.safety.services.events import adverse_event_follow_up, adverse_event_report
from trials.safety.tests.helpers import make_subject, make_trial

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
ANEMIA, NAUSEA, OTHER_BLOOD, DIC = "10002272", "10028813", "10005329", "10013442"


@pytest.fixture
def subject(actors: Actors):  # type: ignore[no-untyped-def]
    return make_subject(actors.coordinator_a, actors.hospital_a, make_trial())


def report(actor, subject, **data):  # type: ignore[no-untyped-def]
    fields = {"meddra_code": ANEMIA, "onset_date": date(2026, 3, 1), "grade": 2, "relatedness": "possible",
              "expectedness": "expected", "action_taken": "not_applicable", "outcome": "recovering"}
    fields.update(data)
    return adverse_event_report(actor=actor, subject=subject, data=fields, today=TODAY, now=NOW)


def refused(fn, *args, **kwargs) -> ApplicationError:  # type: ignore[no-untyped-def]
    with pytest.raises(ApplicationError) as error:
        fn(*args, **kwargs)
    return error.value


def test_initial_report_is_version_one_with_term_data_from_ctcae(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    event = report(actors.coordinator_a, subject)
    version = event.current_version
    assert (event.number, version.version_number, version.ctcae_version) == (1, 1, "5.0")
    assert (version.term, version.soc) == ("Anemia", "Blood and lymphatic system disorders")
    assert not event.is_serious and not event.clocks.exists()
    assert set(AuditEvent.objects.filter(object_type__startswith="safety.").values_list("action", flat=True)) == {"create", "report"}
    assert report(actors.coordinator_a, subject).number == 2


def test_ctcae_reference_data_is_complete() -> None:
    terms = ctcae.terms()
    assert len(terms) == 837
    assert sorted(terms[DIC].grades) == [2, 3, 4, 5]  # DIC has no grade 1
    assert sum(t.needs_specify for t in terms.values()) == 26


@pytest.mark.parametrize(("data", "field"), [
    ({"grade": 1, "meddra_code": DIC}, "grade"),  # DIC has no grade 1
    ({"grade": 5, "meddra_code": NAUSEA, "outcome": "fatal", "serious_death": True, "death_date": date(2026, 3, 2),
      "site_awareness_at": NOW}, "grade"),  # nausea has no grade 5
    ({"meddra_code": "99999999"}, "meddra_code"),
    ({"meddra_code": OTHER_BLOOD}, "other_specify"),
    ({"other_specify": "something"}, "other_specify"),
    ({"grade": 5}, "outcome"),
    ({"grade": 5, "outcome": "fatal"}, "serious_death"),
    ({"grade": 5, "outcome": "fatal", "serious_death": True, "site_awareness_at": NOW}, "death_date"),
    ({"outcome": "fatal", "serious_death": True, "death_date": date(2026, 3, 2), "site_awareness_at": NOW}, "grade"),
    ({"death_date": date(2026, 3, 2)}, "death_date"),
    ({"onset_date": date(2026, 3, 11)}, "onset_date"),  # future
    ({"onset_date": date(2019, 3, 14)}, "onset_date"),  # before birth
    ({"onset_date": date(2020, 9, 14)}, "onset_date"),  # before consent
    ({"outcome": "recovered", "resolution_date": date(2026, 2, 28)}, "resolution_date"),  # before onset
    ({"outcome": "recovered", "resolution_date": date(2026, 3, 11)}, "resolution_date"),  # future
    ({"outcome": "recovered"}, "resolution_date"),
    ({"resolution_date": date(2026, 3, 5)}, "outcome"),  # resolved yet "recovering"
    ({"grade": 5, "outcome": "fatal", "serious_death": True, "death_date": date(2026, 2, 27),
      "site_awareness_at": NOW}, "death_date"),  # death before onset
    ({"serious_hospitalisation": True}, "site_awareness_at"),
    ({"serious_hospitalisation": True, "site_awareness_at": datetime(2026, 3, 10, 5, 0, tzinfo=UTC)}, "site_awareness_at"),
    ({"serious_hospitalisation": True, "site_awareness_at": datetime(2026, 2, 27, tzinfo=UTC)}, "site_awareness_at"),
    ({"site_awareness_at": NOW}, "site_awareness_at"),  # not serious
])
def test_impossible_reports_are_refused_naming_the_field(actors: Actors, subject, data, field) -> None:  # type: ignore[no-untyped-def]
    error = refused(report, actors.coordinator_a, subject, **data)
    assert list(error.fields) == [field], error.message
    assert not AdverseEvent.objects.exists() and not AdverseEventVersion.objects.exists()


def test_other_specify_term_with_its_text(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    event = report(actors.coordinator_a, subject, meddra_code=OTHER_BLOOD, other_specify="Transient eosinophilia")
    assert event.current_version.other_specify == "Transient eosinophilia"


def test_grade_5_records_the_death_in_the_registry(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    event = report(actors.coordinator_a, subject, grade=5, outcome="fatal", serious_death=True,
                   death_date=date(2026, 3, 4), site_awareness_at=datetime(2026, 3, 4, 2, 0, tzinfo=UTC))
    assert event.is_serious and event.grade == 5
    patient = refresh(subject.patient)
    assert patient.death_date == date(2026, 3, 4)
    visit = FollowUpVisit.objects.get(patient=patient, vital_status="dead")
    assert visit.death_cause == "CTCAE Anemia" and visit.recorded_by == actors.coordinator_a
    assert event.clocks.get().kind == "site_24h"


def test_grade_5_with_a_different_registry_death_date_is_refused(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    report(actors.coordinator_a, subject, grade=5, outcome="fatal", serious_death=True, death_date=date(2026, 3, 4),
           site_awareness_at=datetime(2026, 3, 4, 2, 0, tzinfo=UTC))
    error = refused(report, actors.coordinator_a, subject, grade=5, outcome="fatal", serious_death=True,
                    death_date=date(2026, 3, 5), site_awareness_at=datetime(2026, 3, 5, 2, 0, tzinfo=UTC))
    assert "death_date" in error.fields
    assert AdverseEvent.objects.count() == 1


def test_follow_ups_are_new_versions_never_overwrites(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    event = report(actors.coordinator_a, subject)
    first = event.current_version
    event = adverse_event_follow_up(actor=actors.investigator_a, event=event, data={"grade": 3}, today=TODAY, now=NOW)
    event = adverse_event_follow_up(actor=actors.coordinator_a, event=event,
                                    data={"outcome": "recovered", "resolution_date": date(2026, 3, 8)}, today=TODAY, now=NOW)
    versions = list(event.versions.order_by("version_number"))
    assert [(v.version_number, v.grade, v.outcome) for v in versions] == [
        (1, 2, "recovering"), (2, 3, "recovering"), (3, 3, "recovered")]
    first.refresh_from_db()
    assert first.grade == 2 and event.current_version == versions[-1] and event.grade == 3
    follow_ups = AuditEvent.objects.filter(action="follow_up").order_by("seq")
    assert [e.before["grade"] for e in follow_ups] == [2, 3]
    assert [e.after["version_number"] for e in follow_ups] == [2, 3]


def test_follow_up_making_an_event_serious_starts_the_clock(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    event = report(actors.coordinator_a, subject)
    aware = datetime(2026, 3, 9, 20, 0, tzinfo=UTC)
    event = adverse_event_follow_up(actor=actors.coordinator_a, event=event,
                                    data={"serious_hospitalisation": True, "site_awareness_at": aware}, today=TODAY, now=NOW)
    clock = ReportingClock.objects.get(event=event)
    assert clock.kind == "site_24h" and clock.started_at == aware and event.site_awareness_at == aware
    error = refused(adverse_event_follow_up, actor=actors.coordinator_a, event=event,
                    data={"serious_hospitalisation": False, "site_awareness_at": None}, today=TODAY, now=NOW)
    assert error.code == "invalid"


def test_outsiders_and_sponsors_cannot_report(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    for actor in (actors.coordinator_b, actors.monitor_a, actors.sponsor, actors.nobody):
        assert refused(report, actor, subject).code == "out_of_scope"
    assert not AdverseEvent.objects.exists()


def sign(actor, event):  # type: ignore[no-untyped-def]
    return signature_sign(actor=actor, content_type=ContentType.objects.get_for_model(event), object_id=event.pk,
                          meaning=Signature.Meaning.ASSESSED, password=PASSWORD)


def test_follow_up_of_a_signed_event_needs_a_reason_and_voids_the_signature(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    event = report(actors.coordinator_a, subject)
    signature = sign(actors.investigator_a, event)
    error = refused(adverse_event_follow_up, actor=actors.coordinator_a, event=event, data={"grade": 3}, today=TODAY, now=NOW)
    assert error.code == "reason_required"
    assert event.versions.count() == 1
    adverse_event_follow_up(actor=actors.coordinator_a, event=event, data={"grade": 3}, reason="lab result revised",
                            today=TODAY, now=NOW)
    signature.refresh_from_db()
    assert signature.status == "voided" and signature.void_reason == "lab result revised"
    assert AuditEvent.objects.filter(action="void_signature", reason="lab result revised").count() == 1
    assert AuditEvent.objects.get(action="follow_up").reason == "lab result revised"
    # Signed again, the new content is what the new signature covers.
    assert sign(actors.investigator_a, AdverseEvent.objects.get(pk=event.pk)).content["version"]["grade"] == 3
