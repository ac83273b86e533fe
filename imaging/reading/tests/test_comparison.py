"""Reading comparisons: services (audit, scope, validation) and the API, with pinned list query counts."""
import pytest
from django.urls import reverse

from imaging.reading.headline import seed_headline_comparison
from imaging.reading.models import ComparisonUnit, UnitRead
from imaging.reading.services.comparison import comparison_unit_create, reading_comparison_create, unit_read_record
from imaging.reading.tests import helpers as h
from registry.errors import ApplicationError
from registry.models import AuditEvent
from registry.tests.builders import consented_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def comparison(actors):  # type: ignore[no-untyped-def]
    return reading_comparison_create(actor=actors.data_manager, name="low-dose vs standard PET", method_a="standard",
                                     method_b="low-dose", unit="patient")


def test_unit_and_reads_are_audited(actors, comparison) -> None:
    patient = consented_patient(actors.coordinator_a, actors.hospital_a)
    study = h.study_of(patient)
    unit = comparison_unit_create(actor=actors.investigator_a, comparison=comparison, patient=patient, study=study,
                                  reference_positive=True, reference_source="histopathology")
    read = unit_read_record(actor=actors.investigator_a, unit=unit, method="a", positive=False)
    assert read.reader == actors.investigator_a
    events = AuditEvent.objects.filter(object_type__in=["reading.readingcomparison", "reading.comparisonunit", "reading.unitread"])
    assert events.count() == 3
    with pytest.raises(ApplicationError) as exc:
        unit_read_record(actor=actors.investigator_a, unit=unit, method="a", positive=True)
    assert exc.value.code == "duplicate"
    assert UnitRead.objects.get(unit=unit, method="a").positive is False


def test_study_must_be_the_patients(actors, comparison) -> None:
    patient = consented_patient(actors.coordinator_a, actors.hospital_a)
    other = h.study_of(consented_patient(actors.coordinator_a, actors.hospital_a))
    with pytest.raises(ApplicationError) as exc:
        comparison_unit_create(actor=actors.investigator_a, comparison=comparison, patient=patient, study=other,
                               reference_positive=True, reference_source="follow_up")
    assert exc.value.fields == {"study": ["Not this patient's study."]}
    assert not ComparisonUnit.objects.exists()


def test_out_of_scope_write_rolls_back(actors, comparison) -> None:
    patient_b = consented_patient(actors.coordinator_b, actors.hospital_b)
    with pytest.raises(ApplicationError):
        comparison_unit_create(actor=actors.investigator_a, comparison=comparison, patient=patient_b,
                               reference_positive=True, reference_source="follow_up")
    assert not ComparisonUnit.objects.exists()


def test_api_create_unit_and_read(actors, comparison, client_for) -> None:
    patient = consented_patient(actors.coordinator_a, actors.hospital_a)
    client = client_for(actors.investigator_a)
    response = client.post(reverse("reading-comparison-unit-list"), {"comparison": comparison.pk, "patient": patient.study_id,
                                                                     "reference_positive": False, "reference_source": "consensus"},
                           format="json")
    assert response.status_code == 201, response.json()
    unit_id = response.json()["id"]
    response = client.post(reverse("reading-comparison-unit-reads", args=[unit_id]), {"method": "b", "positive": True}, format="json")
    assert response.status_code == 201
    assert response.json()["reads"] == [{"method": "b", "positive": True, "reader": actors.investigator_a.username,
                                         "created_at": response.json()["reads"][0]["created_at"]}]
    bad = client.post(reverse("reading-comparison-unit-reads", args=[unit_id]), {"method": "c", "positive": True}, format="json")
    assert bad.status_code == 400 and "method" in bad.json()["fields"]


def test_duplicate_comparison_name_is_400(actors, comparison, client_for) -> None:
    response = client_for(actors.data_manager).post(reverse("reading-comparison-list"),
                                                    {"name": comparison.name, "method_a": "x", "method_b": "y"}, format="json")
    assert response.status_code == 400


def test_unit_list_query_count(actors, client_for, django_assert_max_num_queries) -> None:
    patients = [consented_patient(actors.coordinator_a, actors.hospital_a) for _ in range(4)]
    seed_headline_comparison(actor=actors.data_manager, patients=patients)
    client = client_for(actors.investigator_a)
    with django_assert_max_num_queries(10):  # session, user, scope, count, page, reads
        response = client.get(reverse("reading-comparison-unit-list"), {"page_size": 100})
    assert response.json()["count"] == 81
    with django_assert_max_num_queries(9):  # session, user, scope, count, page
        assert client.get(reverse("reading-comparison-list")).json()["count"] == 1
