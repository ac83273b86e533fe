"""Registering patients and changing their clinical data (services, not the API)."""
import re
from datetime import date, timedelta

import pytest

from conftest import Actors
from registry.errors import ApplicationError
from registry.models import Patient, StudyIdCounter
from registry.services.patients import patient_update
from registry.tests.builders import CLINICAL_DEFAULTS, counts, events_after, identity, last_seq, make_patient, refresh

TODAY = date(2026, 6, 30)


def test_study_ids_are_hospital_code_and_five_digits_sequential_per_hospital(actors: Actors) -> None:
    a1 = make_patient(actors.coordinator_a, actors.hospital_a)
    b1 = make_patient(actors.coordinator_b, actors.hospital_b)
    a2 = make_patient(actors.investigator_a, actors.hospital_a)
    a3 = make_patient(actors.data_manager, actors.hospital_a)
    assert [a1.study_id, a2.study_id, a3.study_id, b1.study_id] == ["AAA-00001", "AAA-00002", "AAA-00003", "BBB-00001"]
    assert all(re.fullmatch(r"[A-Z0-9]{2,8}-\d{5}", p.study_id) for p in (a1, a2, a3, b1))
    assert StudyIdCounter.objects.get(hospital=actors.hospital_a).last_number == 3


def test_a_refused_registration_does_not_consume_a_study_id(actors: Actors) -> None:
    first_identity = identity()
    make_patient(actors.coordinator_a, actors.hospital_a, ident=first_identity)
    refusals = [
        {"ident": first_identity},  # duplicate record number
        {"inrgss_stage": "Z9"},  # unknown code
        {"diagnosis_date": TODAY + timedelta(days=1), "today": TODAY},  # future diagnosis
        {"birth_date": date(2021, 1, 1), "diagnosis_date": date(2020, 1, 1)},  # diagnosis before birth
    ]
    for overrides in refusals:
        with pytest.raises(ApplicationError):
            make_patient(actors.coordinator_a, actors.hospital_a, **overrides)
    # Out of scope: coordinator B at hospital A.
    with pytest.raises(ApplicationError):
        make_patient(actors.coordinator_b, actors.hospital_a)
    assert StudyIdCounter.objects.get(hospital=actors.hospital_a).last_number == 1
    assert make_patient(actors.coordinator_a, actors.hospital_a).study_id == "AAA-00002"


def test_study_ids_are_never_reused(actors: Actors) -> None:
    issued = {make_patient(actors.coordinator_a, actors.hospital_a).study_id for _ in range(5)}
    assert len(issued) == 5
    assert set(Patient.objects.values_list("study_id", flat=True)) == issued


@pytest.mark.parametrize(("birth", "diagnosis", "months"), [
    (date(2020, 1, 20), date(2020, 1, 20), 0),
    (date(2020, 1, 20), date(2020, 2, 19), 0),
    (date(2020, 1, 20), date(2020, 2, 20), 1),
    (date(2019, 3, 15), date(2020, 9, 14), 17),  # the day before 18 months: still below the cut-off
    (date(2019, 3, 15), date(2020, 9, 15), 18),
    (date(2016, 12, 31), date(2021, 12, 30), 59),
    (date(2016, 12, 31), date(2021, 12, 31), 60),
])
def test_age_at_diagnosis_in_whole_months(actors: Actors, birth: date, diagnosis: date, months: int) -> None:
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=birth, diagnosis_date=diagnosis)
    assert refresh(patient).age_at_diagnosis_months == months


def test_age_with_month_only_birth_date(actors: Actors) -> None:
    """Born "March 2019" (stored as the 1st): diagnosed any day of September 2020 is 18 months."""
    for dx in (date(2020, 9, 1), date(2020, 9, 30)):
        patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2019, 3, 1),
                               birth_date_precision="month", diagnosis_date=dx)
        assert refresh(patient).age_at_diagnosis_months == 18


def test_month_only_birth_date_is_stored_as_the_first_of_the_month(actors: Actors) -> None:
    """A day typed with month precision is not known: it must not shift the age (20 March would give 17)."""
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2019, 3, 20),
                           birth_date_precision="month", diagnosis_date=date(2020, 9, 10))
    patient = refresh(patient)
    assert patient.birth_date == date(2019, 3, 1) and patient.age_at_diagnosis_months == 18


def test_month_only_birth_in_the_diagnosis_month_is_not_after_diagnosis(actors: Actors) -> None:
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2020, 5, 25),
                           birth_date_precision="month", diagnosis_date=date(2020, 5, 10))
    assert refresh(patient).age_at_diagnosis_months == 0


@pytest.mark.parametrize("typed", [
    "MRN-0012345",
    "mrn-0012345",
    "ＭＲＮ－００１２３４５",  # full-width letters, hyphen and digits
    " MRN - 0012 345 ",
    "mrn\u3000-0012345",  # ideographic space
])
def test_duplicate_record_number_is_refused_after_normalisation(actors: Actors, typed: str) -> None:
    existing = make_patient(actors.coordinator_a, actors.hospital_a, ident=identity(record_number="MRN-0012345"))
    before = counts()
    with pytest.raises(ApplicationError) as err:
        make_patient(actors.investigator_a, actors.hospital_a, ident=identity(record_number=typed))
    assert err.value.code == "duplicate_patient"
    assert "record_number" in err.value.fields
    assert existing.study_id in err.value.message  # tells staff which patient it is...
    assert "0012345" not in err.value.message and "0012345" not in str(err.value.fields)  # ...never the number
    assert counts() == before  # no patient, no identity, no visits, no audit event, no number consumed


def test_same_record_number_at_another_hospital_is_allowed(actors: Actors) -> None:
    make_patient(actors.coordinator_a, actors.hospital_a, ident=identity(record_number="MRN-1"))
    other = make_patient(actors.coordinator_b, actors.hospital_b, ident=identity(record_number="MRN-1"))
    assert other.study_id == "BBB-00001"
    assert Patient.objects.count() == 2


@pytest.mark.parametrize(("overrides", "field"), [
    ({"birth_date": TODAY + timedelta(days=1), "diagnosis_date": TODAY + timedelta(days=2)}, "birth_date"),
    ({"diagnosis_date": TODAY + timedelta(days=1)}, "diagnosis_date"),
    ({"birth_date": date(2021, 1, 2), "diagnosis_date": date(2021, 1, 1)}, "diagnosis_date"),
    ({"birth_date": None}, "birth_date"),
    ({"diagnosis_date": None}, "diagnosis_date"),
])
def test_impossible_dates_are_refused_with_the_field_named(actors: Actors, overrides: dict, field: str) -> None:
    before = counts()
    with pytest.raises(ApplicationError) as err:
        make_patient(actors.coordinator_a, actors.hospital_a, today=TODAY, **overrides)
    assert err.value.code == "invalid" and field in err.value.fields
    assert counts() == before


def test_diagnosis_today_is_accepted(actors: Actors) -> None:
    patient = make_patient(actors.coordinator_a, actors.hospital_a, today=TODAY, diagnosis_date=TODAY)
    assert patient.diagnosis_date == TODAY


@pytest.mark.parametrize(("field", "value"), [
    ("inrgss_stage", "Z9"), ("inss_stage", "5"), ("mycn", "maybe"), ("histology", "benign"), ("sex", "X"),
    ("primary_site", "brain"), ("inrg_risk", "ultra"), ("birth_date_precision", "year"),
])
def test_unknown_code_is_refused_with_the_field_named(actors: Actors, field: str, value: str) -> None:
    before = counts()
    with pytest.raises(ApplicationError) as err:
        make_patient(actors.coordinator_a, actors.hospital_a, **{field: value})
    assert err.value.code == "invalid" and field in err.value.fields
    assert counts() == before


def test_missing_required_code_is_refused(actors: Actors) -> None:
    with pytest.raises(ApplicationError) as err:
        make_patient(actors.coordinator_a, actors.hospital_a, mycn="")
    assert "mycn" in err.value.fields


def test_unknown_field_is_refused(actors: Actors) -> None:
    with pytest.raises(ApplicationError) as err:
        make_patient(actors.coordinator_a, actors.hospital_a, death_date=date(2022, 1, 1))
    assert "death_date" in err.value.fields and Patient.objects.count() == 0


@pytest.mark.parametrize("missing", ["name", "record_number"])
def test_name_and_record_number_are_required(actors: Actors, missing: str) -> None:
    with pytest.raises(ApplicationError) as err:
        make_patient(actors.coordinator_a, actors.hospital_a, ident=identity(**{missing: "   "}))
    assert missing in err.value.fields and Patient.objects.count() == 0


@pytest.mark.parametrize("actor", ["coordinator_b", "monitor_a", "nobody"])
def test_registration_outside_ones_hospitals_or_role_is_refused(actors: Actors, actor: str) -> None:
    before = counts()
    with pytest.raises(ApplicationError) as err:
        make_patient(getattr(actors, actor), actors.hospital_a)
    assert err.value.code == "out_of_scope"
    assert counts() == before


def test_registration_is_audited_without_identifiers(actors: Actors) -> None:
    start = last_seq()
    patient = make_patient(actors.coordinator_a, actors.hospital_a)
    events = events_after(start)
    assert [(e.action, e.object_type) for e in events] == [
        ("create", "registry.patient"), ("create", "registry.patientidentity"), ("schedule", "registry.followupvisit"),
    ]
    created = events[0]
    assert created.object_id == str(patient.pk) and created.hospital_id == actors.hospital_a.pk
    assert created.before is None and created.after["study_id"] == "AAA-00001"
    assert created.after["record_number_hash"] == "[redacted]"
    assert all(e.actor == actors.coordinator_a for e in events)


# --- update ----------------------------------------------------------------------------------------

@pytest.fixture
def patient(actors: Actors) -> Patient:
    return make_patient(actors.coordinator_a, actors.hospital_a)


@pytest.mark.parametrize("reason", ["", "   "])
def test_update_requires_a_reason(actors: Actors, patient: Patient, reason: str) -> None:
    start = last_seq()
    with pytest.raises(ApplicationError) as err:
        patient_update(actor=actors.coordinator_a, patient=patient, data={"inrgss_stage": "L2"}, reason=reason)
    assert err.value.code == "reason_required" and "reason" in err.value.fields
    assert refresh(patient).inrgss_stage == "M" and events_after(start) == []


def test_update_writes_one_event_with_before_after_and_reason(actors: Actors, patient: Patient) -> None:
    start = last_seq()
    patient_update(actor=actors.investigator_a, patient=patient, data={"inrgss_stage": "L2", "mycn": "not_amplified"},
                   reason="pathology review")
    [event] = events_after(start)
    assert (event.action, event.object_type, event.object_id) == ("update", "registry.patient", str(patient.pk))
    assert event.before["inrgss_stage"] == "M" and event.after["inrgss_stage"] == "L2"
    assert event.before["mycn"] == "amplified" and event.after["mycn"] == "not_amplified"
    assert event.reason == "pathology review" and event.actor == actors.investigator_a
    assert event.hospital_id == actors.hospital_a.pk
    assert refresh(patient).inrgss_stage == "L2"


def test_update_recomputes_age_at_diagnosis(actors: Actors, patient: Patient) -> None:
    assert patient.age_at_diagnosis_months == 18
    start = last_seq()
    patient_update(actor=actors.coordinator_a, patient=patient, data={"diagnosis_date": date(2020, 3, 14)},
                   reason="date of biopsy, not of imaging")
    assert refresh(patient).age_at_diagnosis_months == 11
    [event] = events_after(start)
    assert (event.before["age_at_diagnosis_months"], event.after["age_at_diagnosis_months"]) == (18, 11)
    patient_update(actor=actors.coordinator_a, patient=patient, data={"birth_date": date(2019, 1, 1),
                   "birth_date_precision": "month"}, reason="only the month is known")
    assert refresh(patient).age_at_diagnosis_months == 14


def test_update_without_change_writes_nothing(actors: Actors, patient: Patient) -> None:
    start = last_seq()
    patient_update(actor=actors.coordinator_a, patient=patient, data={"inrgss_stage": "M"}, reason="checked")
    assert events_after(start) == []


@pytest.mark.parametrize("field", ["study_id", "hospital", "death_date", "record_number_hash", "age_at_diagnosis_months"])
def test_update_refuses_fields_that_are_not_editable(actors: Actors, patient: Patient, field: str) -> None:
    with pytest.raises(ApplicationError) as err:
        patient_update(actor=actors.coordinator_a, patient=patient, data={field: "x"}, reason="r")
    assert err.value.code == "field_not_editable" and field in err.value.fields


@pytest.mark.parametrize(("data", "field"), [
    ({"diagnosis_date": date(2019, 1, 1)}, "diagnosis_date"),
    ({"diagnosis_date": TODAY + timedelta(days=1)}, "diagnosis_date"),
    ({"birth_date": TODAY + timedelta(days=1)}, "birth_date"),
    ({"inrgss_stage": "Z9"}, "inrgss_stage"),
])
def test_update_refuses_bad_values_and_keeps_the_record(actors: Actors, patient: Patient, data: dict,
                                                          field: str) -> None:
    start = last_seq()
    with pytest.raises(ApplicationError) as err:
        patient_update(actor=actors.coordinator_a, patient=patient, data=data, reason="r", today=TODAY)
    assert field in err.value.fields
    stored = refresh(patient)
    assert all(getattr(stored, k) == CLINICAL_DEFAULTS[k] for k in data)
    assert events_after(start) == []


@pytest.mark.parametrize("actor", ["coordinator_b", "monitor_a", "nobody"])
def test_update_out_of_scope_is_refused(actors: Actors, patient: Patient, actor: str) -> None:
    start = last_seq()
    with pytest.raises(ApplicationError) as err:
        patient_update(actor=getattr(actors, actor), patient=patient, data={"inrgss_stage": "L2"}, reason="r")
    assert err.value.code == "out_of_scope"
    assert refresh(patient).inrgss_stage == "M" and events_after(start) == []


def test_the_all_hospitals_data_manager_may_correct(actors: Actors, patient: Patient) -> None:
    patient_update(actor=actors.data_manager, patient=patient, data={"cog_risk": "high"}, reason="central review")
    assert refresh(patient).cog_risk == "high"



def test_update_to_month_precision_keeps_only_the_month(actors: Actors, patient: Patient) -> None:
    patient_update(actor=actors.coordinator_a, patient=patient, data={"birth_date_precision": "month"},
                   reason="parents unsure of the day")
    assert refresh(patient).birth_date == date(2019, 3, 1)
    start = last_seq()
    # Typing another day of the same month changes nothing, so nothing is recorded.
    patient_update(actor=actors.coordinator_a, patient=patient, data={"birth_date": date(2019, 3, 27)}, reason="r")
    assert events_after(start) == [] and refresh(patient).birth_date == date(2019, 3, 1)
