"""Consent: what a valid signature is, what a withdrawal stops, and when a patient must consent again."""
from datetime import date

import pytest

from conftest import Actors
from registry.consent_rules import annotate_consent, consent_state, require_consent
from registry.errors import ApplicationError
from registry.models import ConsentRecord, ConsentWithdrawal, FollowUpVisit, Patient
from registry.selectors import worklist
from registry.services.consent import consent_withdraw
from registry.services.followup import followup_mark_statuses
from registry.tests.builders import counts, events_after, last_seq, make_document, make_patient, make_registry_consent, record_visit, refresh, visit

BIRTH = date(2016, 5, 10)  # 8 on 2024-05-10
DX = date(2019, 1, 15)
TODAY = date(2026, 6, 30)


@pytest.fixture
def v1(db):  # type: ignore[no-untyped-def]
    return make_document(version="1.0", effective_from=date(2010, 1, 1))


@pytest.fixture
def patient(actors: Actors, v1) -> Patient:  # type: ignore[no-untyped-def]
    return make_patient(actors.coordinator_a, actors.hospital_a, birth_date=BIRTH, diagnosis_date=DX)


def flags(patient: Patient, on: date) -> tuple[bool, bool, bool, bool]:
    """(valid, reconsent_due, adult_consent_due, has_registry_consent), asserting that consent_state and
    annotate_consent (the list/worklist reading) agree on every flag."""
    state = consent_state(refresh(patient), on=on)
    row = annotate_consent(Patient.objects.filter(pk=patient.pk), on=on).get()
    assert (state.reconsent_due, state.adult_consent_due) == (row.reconsent_due, row.adult_consent_due), on
    assert state.valid == row.has_registry_consent, on
    return state.valid, state.reconsent_due, state.adult_consent_due, row.has_registry_consent


# --- consent needed for follow-up ------------------------------------------------------------------

def test_follow_up_entry_is_refused_without_registry_consent(actors: Actors, patient: Patient) -> None:
    before = counts()
    with pytest.raises(ApplicationError) as err:
        record_visit(actors.coordinator_a, patient, 1)
    assert err.value.code == "consent_missing"
    assert "registry consent" in err.value.message and patient.study_id not in err.value.message
    assert "follow-up entry" in err.value.message
    assert visit(patient, 1).status == FollowUpVisit.Status.SCHEDULED and counts() == before


def test_follow_up_entry_needs_the_consent_signed_by_the_visit_date(actors: Actors, patient: Patient) -> None:
    make_registry_consent(actors.coordinator_a, patient, signed_date=date(2019, 6, 1))
    with pytest.raises(ApplicationError) as err:
        record_visit(actors.coordinator_a, patient, 1)  # 2019-04-15, before the signature
    assert err.value.code == "consent_missing"
    assert record_visit(actors.coordinator_a, patient, 2).status == FollowUpVisit.Status.DONE  # 2019-07-15


def test_require_consent_returns_the_valid_record(actors: Actors, patient: Patient) -> None:
    record = make_registry_consent(actors.coordinator_a, patient)
    assert require_consent(patient, on=DX, action="x") == record
    with pytest.raises(ApplicationError):
        require_consent(patient, on=date(2019, 1, 14), action="x")


# --- recording a consent ---------------------------------------------------------------------------

@pytest.mark.parametrize(("signed", "doc", "field"), [
    (date(2026, 7, 1), {}, "signed_date"),  # after "today"
    (date(2016, 5, 9), {}, "signed_date"),  # before birth
    (date(2019, 12, 31), {"effective_from": date(2020, 1, 1)}, "document"),  # before the version came into force
    (date(2022, 1, 1), {"effective_from": date(2020, 1, 1), "effective_to": date(2021, 12, 31)}, "document"),
])
def test_consent_dates_are_checked(actors: Actors, patient: Patient, signed: date, doc: dict, field: str) -> None:
    document = make_document(version="2.0", **doc) if doc else None
    before = counts()
    with pytest.raises(ApplicationError) as err:
        make_registry_consent(actors.coordinator_a, patient, document=document, signed_date=signed, today=TODAY)
    assert err.value.code == "invalid" and field in err.value.fields
    assert counts() == before


def test_consent_on_the_last_day_of_a_version_is_accepted(actors: Actors, patient: Patient) -> None:
    document = make_document(version="2.0", effective_from=date(2020, 1, 1), effective_to=date(2021, 12, 31))
    assert make_registry_consent(actors.coordinator_a, patient, document=document, signed_date=date(2021, 12, 31))


@pytest.mark.parametrize(("signed", "assent_age", "required"), [
    (date(2024, 5, 9), 8, False),  # the day before the 8th birthday
    (date(2024, 5, 10), 8, True),  # the 8th birthday
    (date(2025, 1, 1), 8, True),
    (date(2025, 1, 1), 10, False),  # the threshold is the document's, per ethics committee
    (date(2026, 5, 10), 10, True),
])
def test_assent_is_required_from_the_documents_assent_age(actors: Actors, patient: Patient, signed: date,
                                                          assent_age: int, required: bool) -> None:
    document = make_document(version="2.0", assent_age_years=assent_age)
    attempt = dict(document=document, signed_date=signed, today=TODAY)
    if required:
        with pytest.raises(ApplicationError) as err:
            make_registry_consent(actors.coordinator_a, patient, assent="not_applicable", **attempt)
        assert "assent" in err.value.fields and str(assent_age) in err.value.message
        assert not ConsentRecord.objects.exists()
        record = make_registry_consent(actors.coordinator_a, patient, assent="given", **attempt)
    else:
        record = make_registry_consent(actors.coordinator_a, patient, assent="not_applicable", **attempt)
    assert record.pk


def test_a_participant_signs_only_from_18(actors: Actors, v1) -> None:  # type: ignore[no-untyped-def]
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2008, 6, 15),
                           diagnosis_date=date(2012, 1, 10))
    with pytest.raises(ApplicationError) as err:
        make_registry_consent(actors.coordinator_a, patient, signer="participant", signed_date=date(2026, 6, 14),
                              today=TODAY)
    assert "signer" in err.value.fields and not ConsentRecord.objects.exists()
    record = make_registry_consent(actors.coordinator_a, patient, signer="participant", assent="given",
                                   signed_date=date(2026, 6, 15), today=TODAY)
    assert record.signer == "participant" and record.assent == "not_applicable"


def test_a_guardian_signature_names_the_relationship(actors: Actors, patient: Patient) -> None:
    with pytest.raises(ApplicationError) as err:
        make_registry_consent(actors.coordinator_a, patient, guardian1_relationship="")
    assert "guardian1_relationship" in err.value.fields
    with pytest.raises(ApplicationError) as err:
        make_registry_consent(actors.coordinator_a, patient, guardian1_relationship="neighbour")
    assert "guardian1_relationship" in err.value.fields
    assert not ConsentRecord.objects.exists()


def test_a_version_is_signed_once(actors: Actors, patient: Patient) -> None:
    make_registry_consent(actors.coordinator_a, patient)
    with pytest.raises(ApplicationError) as err:
        make_registry_consent(actors.coordinator_a, patient, signed_date=date(2019, 2, 1))
    assert "document" in err.value.fields and ConsentRecord.objects.count() == 1


def test_recording_a_consent_is_audited(actors: Actors, patient: Patient) -> None:
    start = last_seq()
    record = make_registry_consent(actors.investigator_a, patient)
    [event] = events_after(start)
    assert (event.action, event.object_type, event.object_id) == ("create", "registry.consentrecord", str(record.pk))
    assert event.after["signed_date"] == DX.isoformat() and event.hospital_id == actors.hospital_a.pk


@pytest.mark.parametrize("actor", ["coordinator_b", "monitor_a", "nobody"])
def test_consent_out_of_scope_is_refused(actors: Actors, patient: Patient, actor: str) -> None:
    before = counts()
    with pytest.raises(ApplicationError) as err:
        make_registry_consent(getattr(actors, actor), patient)
    assert err.value.code == "out_of_scope" and counts() == before


# --- withdrawal ------------------------------------------------------------------------------------

WITHDRAWN = date(2019, 8, 1)


@pytest.fixture
def followed(actors: Actors, patient: Patient) -> Patient:
    """Consented at diagnosis, visit 1 done, the sweep run on the withdrawal day (visit 2 overdue)."""
    make_registry_consent(actors.coordinator_a, patient)
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2019, 4, 16))
    followup_mark_statuses(today=WITHDRAWN)
    return refresh(patient)


def _consent(patient: Patient) -> ConsentRecord:
    return ConsentRecord.objects.get(patient=patient)


def test_withdrawal_of_further_contact_keeps_the_data(actors: Actors, followed: Patient) -> None:
    before = counts()
    start = last_seq()
    withdrawal = consent_withdraw(actor=actors.coordinator_a, consent=_consent(followed), withdrawn_on=WITHDRAWN,
                                  scope="no_further_contact", reason="family moved away")
    patient = refresh(followed)
    assert patient.contact_withdrawn_on == WITHDRAWN and patient.data_use_withdrawn_on is None
    assert not patient.is_followed
    statuses = dict(FollowUpVisit.objects.filter(patient=patient).values_list("number", "status"))
    assert statuses[1] == "done"
    assert statuses[2] == "overdue"  # due before the withdrawal: may still be entered from what was collected then
    assert {statuses[n] for n in range(3, 20)} == {"cancelled"}  # every visit expected after it
    assert counts() == {**before, "withdrawals": before["withdrawals"] + 1, "events": counts()["events"]}
    assert [e.action for e in events_after(start)] == ["withdraw", "update", "cancel_visits"]
    assert events_after(start)[0].after["scope"] == "no_further_contact"
    assert withdrawal.reason == "family moved away"
    # Nothing after the date may be entered, not even an unscheduled contact...
    for number, when in ((None, date(2019, 9, 1)), (2, WITHDRAWN)):
        with pytest.raises(ApplicationError) as err:
            record_visit(actors.coordinator_a, patient, number, visit_date=when)
        assert err.value.code == "consent_missing" and "withdrawn" in err.value.message
    # ...but what was collected before it still may, and the patient stays in research use.
    assert record_visit(actors.coordinator_a, patient, 2, visit_date=date(2019, 7, 20)).status == "done"
    assert Patient.objects.usable_for_research(date(2030, 1, 1)).filter(pk=patient.pk).exists()


def test_withdrawal_of_data_use_excludes_the_patient_from_that_day(actors: Actors, followed: Patient) -> None:
    other = make_patient(actors.coordinator_a, actors.hospital_a)
    before = counts()
    consent_withdraw(actor=actors.coordinator_a, consent=_consent(followed), withdrawn_on=WITHDRAWN,
                     scope="withdraw_data_use", reason="parents' request")
    patient = refresh(followed)
    assert patient.data_use_withdrawn_on == WITHDRAWN and patient.contact_withdrawn_on == WITHDRAWN
    usable = Patient.objects.usable_for_research
    assert set(usable(date(2019, 7, 31))) == {patient, other}
    assert set(usable(WITHDRAWN)) == {other}
    assert set(usable(date(2025, 1, 1))) == {other}
    after = counts()
    assert (after["patients"], after["visits"], after["consents"]) == (before["patients"], before["visits"],
                                                                      before["consents"])
    assert visit(patient, 1).status == "done" and visit(patient, 1).vital_status == "alive"


def test_a_consent_is_withdrawn_once(actors: Actors, followed: Patient) -> None:
    consent_withdraw(actor=actors.coordinator_a, consent=_consent(followed), withdrawn_on=WITHDRAWN,
                     scope="no_further_contact", reason="r")
    before = counts()
    with pytest.raises(ApplicationError) as err:
        consent_withdraw(actor=actors.coordinator_a, consent=_consent(followed), withdrawn_on=date(2019, 9, 1),
                         scope="withdraw_data_use", reason="again")
    assert err.value.code == "already_withdrawn" and counts() == before
    assert refresh(followed).contact_withdrawn_on == WITHDRAWN and refresh(followed).data_use_withdrawn_on is None


def test_a_patient_withdraws_from_the_registry_once(actors: Actors, followed: Patient) -> None:
    """With two signed versions, withdrawing the second must not move the first withdrawal's date."""
    v2 = make_document(version="2.0", effective_from=date(2019, 2, 1))
    second = make_registry_consent(actors.coordinator_a, followed, document=v2, signed_date=date(2019, 3, 1))
    consent_withdraw(actor=actors.coordinator_a, consent=second, withdrawn_on=WITHDRAWN, scope="no_further_contact",
                     reason="r")
    before = counts()
    with pytest.raises(ApplicationError) as err:
        consent_withdraw(actor=actors.coordinator_a, consent=_consent_of(followed, "1.0"), withdrawn_on=date(2020, 1, 1),
                         scope="no_further_contact", reason="again")
    assert err.value.code == "already_withdrawn" and counts() == before
    assert refresh(followed).contact_withdrawn_on == WITHDRAWN


def test_withdrawal_is_recorded_against_the_latest_version(actors: Actors, followed: Patient) -> None:
    v2 = make_document(version="2.0", effective_from=date(2019, 2, 1))
    make_registry_consent(actors.coordinator_a, followed, document=v2, signed_date=date(2019, 3, 1))
    before = counts()
    with pytest.raises(ApplicationError) as err:
        consent_withdraw(actor=actors.coordinator_a, consent=_consent_of(followed, "1.0"), withdrawn_on=WITHDRAWN,
                         scope="no_further_contact", reason="r")
    assert err.value.code == "superseded" and "2.0" in err.value.message and counts() == before
    assert flags(followed, WITHDRAWN)[0] is True and refresh(followed).contact_withdrawn_on is None
    consent_withdraw(actor=actors.coordinator_a, consent=_consent_of(followed, "2.0"), withdrawn_on=WITHDRAWN,
                     scope="no_further_contact", reason="r")
    assert flags(followed, WITHDRAWN)[0] is False and refresh(followed).contact_withdrawn_on == WITHDRAWN


def _consent_of(patient: Patient, version: str) -> ConsentRecord:
    return ConsentRecord.objects.get(patient=patient, document__version=version)


@pytest.mark.parametrize(("withdrawn_on", "reason", "field"), [
    (WITHDRAWN, "  ", "reason"),
    (date(2026, 7, 1), "r", "withdrawn_on"),  # future
    (date(2019, 1, 14), "r", "withdrawn_on"),  # before the signature
])
def test_withdrawal_is_validated(actors: Actors, followed: Patient, withdrawn_on: date, reason: str,
                                 field: str) -> None:
    before = counts()
    with pytest.raises(ApplicationError) as err:
        consent_withdraw(actor=actors.coordinator_a, consent=_consent(followed), withdrawn_on=withdrawn_on,
                         scope="no_further_contact", reason=reason, today=TODAY)
    assert field in err.value.fields and counts() == before


def test_withdrawal_needs_a_known_scope(actors: Actors, followed: Patient) -> None:
    with pytest.raises(ApplicationError) as err:
        consent_withdraw(actor=actors.coordinator_a, consent=_consent(followed), withdrawn_on=WITHDRAWN,
                         scope="forget_me", reason="r")
    assert "scope" in err.value.fields and not ConsentWithdrawal.objects.exists()


@pytest.mark.parametrize("actor", ["coordinator_b", "monitor_a"])
def test_withdrawal_out_of_scope_is_refused(actors: Actors, followed: Patient, actor: str) -> None:
    before = counts()
    with pytest.raises(ApplicationError) as err:
        consent_withdraw(actor=getattr(actors, actor), consent=_consent(followed), withdrawn_on=WITHDRAWN,
                         scope="withdraw_data_use", reason="r")
    assert err.value.code == "out_of_scope" and counts() == before
    assert refresh(followed).data_use_withdrawn_on is None


def test_an_outsider_learns_nothing_from_a_refused_withdrawal(actors: Actors, followed: Patient) -> None:
    consent_withdraw(actor=actors.coordinator_a, consent=_consent(followed), withdrawn_on=WITHDRAWN,
                     scope="no_further_contact", reason="r")
    with pytest.raises(ApplicationError) as err:
        consent_withdraw(actor=actors.coordinator_b, consent=_consent(followed), withdrawn_on=WITHDRAWN,
                         scope="withdraw_data_use", reason="r")
    assert err.value.code == "out_of_scope"
    assert followed.study_id not in err.value.message and "2019" not in err.value.message


def test_withdrawn_consent_is_not_valid_from_its_date(actors: Actors, followed: Patient) -> None:
    consent_withdraw(actor=actors.coordinator_a, consent=_consent(followed), withdrawn_on=WITHDRAWN,
                     scope="no_further_contact", reason="r")
    assert flags(followed, date(2019, 7, 31))[0] is True
    valid, reconsent, adult, _ = flags(followed, WITHDRAWN)
    assert (valid, reconsent, adult) == (False, False, False)
    assert "withdrawn on 2019-08-01" in consent_state(followed, on=WITHDRAWN).problem


# --- re-consent ------------------------------------------------------------------------------------

def test_reconsent_due_for_a_new_version_that_requires_it(actors: Actors, patient: Patient) -> None:
    make_registry_consent(actors.coordinator_a, patient, signed_date=date(2019, 1, 20))
    make_document(version="1.1", effective_from=date(2021, 1, 1))  # a new version without re-consent
    v2 = make_document(version="2.0", effective_from=date(2024, 1, 1), requires_reconsent=True)
    assert flags(patient, date(2023, 12, 31)) == (True, False, False, True)
    assert flags(patient, date(2024, 1, 1)) == (True, True, False, True)
    kinds = [(i.kind, i.study_id) for i in worklist(user=actors.coordinator_a, on=date(2024, 2, 1))]
    assert ("reconsent_due", patient.study_id) in kinds
    assert worklist(user=actors.coordinator_b, on=date(2024, 2, 1)) == []
    make_registry_consent(actors.coordinator_a, patient, document=v2, signed_date=date(2024, 3, 1))
    assert flags(patient, date(2024, 2, 29)) == (True, True, False, True)  # before the signature
    assert flags(patient, date(2024, 3, 1)) == (True, False, False, True)
    assert flags(patient, date(2025, 1, 1)) == (True, False, False, True)
    assert "reconsent_due" not in {i.kind for i in worklist(user=actors.coordinator_a, on=date(2025, 1, 1))}


def test_reconsent_not_due_when_the_patient_is_no_longer_followed(actors: Actors, patient: Patient) -> None:
    make_registry_consent(actors.coordinator_a, patient, signed_date=date(2019, 1, 20))
    make_document(version="2.0", effective_from=date(2024, 1, 1), requires_reconsent=True)
    record_visit(actors.coordinator_a, patient, 1, vital_status="dead", death_date=date(2019, 4, 1),
                 visit_date=date(2019, 4, 15))
    assert flags(patient, date(2024, 2, 1)) == (True, False, False, True)


def test_reconsent_ends_with_the_versions_validity(actors: Actors, patient: Patient) -> None:
    make_registry_consent(actors.coordinator_a, patient, signed_date=date(2019, 1, 20))
    make_document(version="2.0", effective_from=date(2024, 1, 1), effective_to=date(2024, 12, 31),
                  requires_reconsent=True)
    assert flags(patient, date(2024, 12, 31))[1] is True
    assert flags(patient, date(2025, 1, 1))[1] is False


# --- adult consent ---------------------------------------------------------------------------------

@pytest.fixture
def teenager(actors: Actors, v1) -> Patient:  # type: ignore[no-untyped-def]
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2008, 6, 15),
                           diagnosis_date=date(2012, 1, 10))
    make_registry_consent(actors.coordinator_a, patient, signed_date=date(2012, 1, 20))
    return patient


def test_adult_consent_due_from_the_18th_birthday(actors: Actors, teenager: Patient) -> None:
    assert flags(teenager, date(2026, 6, 14)) == (True, False, False, True)
    assert flags(teenager, date(2026, 6, 15)) == (True, False, True, True)
    assert flags(teenager, date(2027, 1, 1)) == (True, False, True, True)
    items = worklist(user=actors.coordinator_a, on=date(2026, 6, 15))
    assert [(i.kind, i.study_id) for i in items if i.kind == "adult_consent_due"] == [("adult_consent_due",
                                                                                         teenager.study_id)]
    adult_form = make_document(version="2.0-adult", effective_from=date(2020, 1, 1))
    make_registry_consent(actors.coordinator_a, teenager, document=adult_form, signer="participant",
                          signed_date=date(2026, 6, 20), today=TODAY)
    assert flags(teenager, date(2026, 6, 19)) == (True, False, True, True)
    assert flags(teenager, date(2026, 6, 20)) == (True, False, False, True)
    assert "adult_consent_due" not in {i.kind for i in worklist(user=actors.coordinator_a, on=date(2026, 7, 1))}


def test_adult_consent_not_due_after_death(actors: Actors, teenager: Patient) -> None:
    record_visit(actors.coordinator_a, teenager, None, visit_date=date(2025, 1, 10), vital_status="dead",
                 death_date=date(2025, 1, 2))
    assert flags(teenager, date(2026, 6, 15)) == (True, False, False, True)


def test_adult_consent_for_a_leap_day_birthday(actors: Actors, v1) -> None:  # type: ignore[no-untyped-def]
    """Born 29 Feb 2008: 18 on 28 Feb 2026 (registry.dates.adult_on); both readings must agree on that day."""
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2008, 2, 29),
                           diagnosis_date=date(2012, 1, 10))
    make_registry_consent(actors.coordinator_a, patient, signed_date=date(2012, 1, 20))
    assert flags(patient, date(2026, 2, 27))[2] is False
    assert flags(patient, date(2026, 2, 28))[2] is True
    assert flags(patient, date(2026, 3, 1))[2] is True


def test_consent_flags_agree_for_a_patient_without_consent(actors: Actors, v1) -> None:  # type: ignore[no-untyped-def]
    """An adult never consented has no valid consent: nothing to renew, in either reading."""
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2008, 6, 15),
                           diagnosis_date=date(2012, 1, 10))
    make_document(version="2.0", effective_from=date(2024, 1, 1), requires_reconsent=True)
    assert flags(patient, date(2026, 7, 1)) == (False, False, False, False)
    assert "no registry consent" in consent_state(patient, on=date(2026, 7, 1)).problem


def test_a_guardian_cannot_sign_for_an_adult(actors) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from registry.errors import ApplicationError
    from registry.services.consent import consent_record_create
    from registry.tests.builders import make_document, make_patient

    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2000, 1, 10),
                           diagnosis_date=date(2017, 5, 1))
    document = make_document()
    with pytest.raises(ApplicationError) as err:
        consent_record_create(actor=actors.coordinator_a, patient=patient, document=document, assent="given",
                              signed_date=date(2018, 2, 1), guardian1_relationship="mother", today=date(2026, 1, 1))
    assert "signer" in err.value.fields
