"""The cohort report's set-based consent state equals the registry's own rules (annotate_consent) on every case."""
from datetime import date

import pandas as pd
import pytest

from conftest import Actors
from registry.consent_rules import annotate_consent
from registry.models import ConsentDocument, ConsentRecord, ConsentWithdrawal, Patient, User
from registry.models.people import SYSTEM_USERNAME
from reports.builders.consent import STATE_COLUMNS, annotate_consent_inputs, consent_frame
from reports.tests.bulk import bulk_cohort

DATES = [date(2011, 6, 1), date(2016, 3, 1), date(2017, 6, 1), date(2019, 1, 1), date(2021, 7, 1), date(2023, 1, 1), date(2026, 1, 1)]


def _vary(patients: list[Patient]) -> None:
    """Withdrawals, participants' own signatures, newer versions, adults, deaths and withdrawn contact, mixed."""
    system = User.objects.get(username=SYSTEM_USERNAME)
    v2 = ConsentDocument.objects.create(scope="registry", version="2.0", title="v2", ethics_approval_number="EC-2",
                                        ethics_approval_date=date(2018, 1, 1), effective_from=date(2018, 1, 1), requires_reconsent=True)
    for i, p in enumerate(patients):
        record = p.consents.get()
        if i % 7 == 1:
            Patient.objects.filter(pk=p.pk).update(birth_date=date(1999, 2, 28))  # adult from 2017
        if i % 5 == 2:
            ConsentWithdrawal.objects.create(consent=record, withdrawn_on=date(2020, 1, 1), scope="no_further_contact", reason="r",
                                             recorded_by=system)
        if i % 4 == 3:  # signed the newer version later, sometimes as the adult participant
            signer = "participant" if i % 8 == 7 else "guardian"
            later = ConsentRecord.objects.create(patient=p, document=v2, signer=signer, assent="not_applicable",
                                                 signed_date=date(2022, 1, 1), recorded_by=system)
            if i % 3 == 0:
                ConsentWithdrawal.objects.create(consent=later, withdrawn_on=date(2024, 6, 1), scope="no_further_contact",
                                                 reason="r", recorded_by=system)
        if i % 6 == 5:
            Patient.objects.filter(pk=p.pk).update(death_date=date(2021, 1, 1))
        if i % 9 == 4:
            Patient.objects.filter(pk=p.pk).update(contact_withdrawn_on=date(2020, 5, 1))
        if i % 11 == 10:
            ConsentRecord.objects.filter(pk=record.pk).update(signer="participant")
        if i % 10 == 6:  # the child refused assent (the first version; some signed the newer one after)
            ConsentRecord.objects.filter(pk=record.pk).update(assent="refused")
        if i % 13 == 3:  # ... or refused the newer version
            ConsentRecord.objects.filter(patient=p, document=v2).update(assent="refused")


@pytest.mark.parametrize("with_newer_version", [True, False])
def test_consent_frame_equals_annotate_consent(actors: Actors, with_newer_version: bool) -> None:
    bulk_cohort(actors.hospital_a, 60, prefix="CF-")
    patients = list(Patient.objects.filter(study_id__startswith="CF-").order_by("pk"))
    _vary(patients)
    if not with_newer_version:
        ConsentDocument.objects.filter(version="2.0").update(requires_reconsent=False)
    qs = Patient.objects.filter(study_id__startswith="CF-")
    seen = set()
    for on in DATES:
        expected = pd.DataFrame(list(annotate_consent(qs, on=on).order_by("pk").values_list("pk", *STATE_COLUMNS)),
                                columns=["pk", *STATE_COLUMNS])
        flags = pd.DataFrame(list(annotate_consent_inputs(qs, on=on).order_by("pk").values_list("pk", "is_adult", "is_followed")),
                             columns=["pk", "is_adult", "is_followed"])
        got = consent_frame(qs, flags, on=on)
        assert got["pk"].tolist() == expected["pk"].tolist()
        for column in STATE_COLUMNS:
            assert got[column].astype(bool).tolist() == expected[column].astype(bool).tolist(), (on, column)
        seen |= set(map(tuple, expected[STATE_COLUMNS].astype(bool).to_numpy().tolist()))
    # The case mix reaches every state the rules distinguish (else the comparison proves little).
    assert {(False, False, False), (True, False, False), (True, False, True)} <= seen
    if with_newer_version:
        assert (True, True, False) in seen or (True, True, True) in seen
