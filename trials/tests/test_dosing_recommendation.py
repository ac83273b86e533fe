"""Every dose gets a recommendation or cannot be recorded (issue 15, defect 4); the FDG acquisition mode per trial
and per site; the entered administered activity compared with the computed net activity (defect 7); and the decay
of a dose entered through the API where the platform's zone has daylight saving (defect 5)."""
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from conftest import Actors, api_client
from registry.errors import ApplicationError
from registry.models import AuditEvent
from trials.models import DosingRecord, Subject, Trial
from trials.services import setup
from trials.services.dosing import dosing_record_create
from trials.tests.builders import enrol, make_trial, site_of

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
ENROLLED = datetime(2026, 6, 30, 8, 0, tzinfo=SH)
T0 = datetime(2026, 6, 30, 9, 0, tzinfo=SH)
GA68 = 4062.6  # 67.71 min (reference section 1)


def enrolled(actors: Actors, trial: Trial, at: datetime = ENROLLED) -> Subject:
    with time_machine.travel(at, tick=False):
        return enrol(actors.coordinator_a, trial, actors.hospital_a)


def record(actors: Actors, subject: Subject, *, entered: str = "100", weight: str = "20", **overrides) -> DosingRecord:  # type: ignore[no-untyped-def]
    fields = {"lot_number": "L-1", "calibrated_activity_mbq": Decimal("100"), "calibrated_at": T0,
              "administered_activity_mbq": Decimal(entered), "administered_at": T0, "weight_kg": Decimal(weight)}
    fields.update(overrides)
    return dosing_record_create(actor=actors.coordinator_a, subject=subject, now=T0 + timedelta(hours=1), **fields)


# --- Set-up: a (table, agent) pair with no row ----------------------------------------------------------------
def test_a_naf_trial_on_the_eanm_card_is_refused_at_set_up(actors: Actors) -> None:
    """18F-NaF has no row on the EANM card as shipped (its row could not be verified against the primary card,
    docs/physics.md "Dosage tables"): a trial on that card alone would record NaF doses with no recommendation,
    no deviation and no overdose deviation, silently. Set-up refuses it with code no_dosage_row."""
    with pytest.raises(ApplicationError) as refused:
        make_trial(actors.data_manager, [actors.hospital_a], code="NAF-E", agent_code="F18_NAF", dosage_table="eanm")
    assert refused.value.code == "no_dosage_row" and "dosage_table" in refused.value.fields
    assert "18F-NaF" in refused.value.message and "fallback" in refused.value.message
    assert not Trial.objects.filter(code="NAF-E").exists()


def test_a_declared_fallback_table_is_used_and_recorded_on_the_dose(actors: Actors) -> None:
    """NaF on the EANM card with the North American table as fallback: 2.22 MBq/kg x 20 kg = 44.4 MBq (SNMMI/SPR,
    reference section 2), and the dose says the fallback table gave it."""
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NAF-F", agent_code="F18_NAF", dosage_table="eanm",
                       fallback_dosage_table="north_america")
    dose = record(actors, enrolled(actors, trial), entered="44.4", calibrated_activity_mbq=Decimal("44.4"))
    assert dose.recommended_activity_mbq == Decimal("44.400") and dose.deviation_percent == Decimal("0.00")
    assert (dose.dosage_table, dose.dosage_table_is_fallback) == ("north_america", True)
    assert dose.dosage_table_version.startswith("snmmi-spr-2016") and dose.dosage_note.startswith("fallback table: 18F-NaF")


@pytest.mark.parametrize(("fields", "code", "field"), [
    ({"agent_code": "F18_NAF", "dosage_table": "eanm", "fallback_dosage_table": "eanm"}, "invalid", "fallback_dosage_table"),
    # 131I-MIBG has a row in neither table: a fallback without one is refused too.
    ({"agent_code": "I131_MIBG", "dosage_table": "eanm", "fallback_dosage_table": "north_america"}, "no_dosage_row", "fallback_dosage_table"),
    ({"agent_code": "I131_MIBG", "dosage_table": "north_america"}, "no_dosage_row", "dosage_table"),
])
def test_fallbacks_that_cannot_help_are_refused(actors: Actors, fields: dict[str, str], code: str, field: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        setup.trial_create(actor=actors.data_manager, code="BAD-1", title_zh="x", title_en="x", phase="II",
                           sponsor_organisation="x", target_accrual=3, **fields)
    assert refused.value.code == code and field in refused.value.fields


def test_changing_the_table_of_a_trial_is_checked_too(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NAF-U", agent_code="F18_NAF", dosage_table="north_america")
    with pytest.raises(ApplicationError) as refused:
        setup.trial_update(actor=actors.data_manager, trial=trial, data={"dosage_table": "eanm"}, reason="harmonise")
    assert refused.value.code == "no_dosage_row"
    trial.refresh_from_db()
    assert trial.dosage_table == "north_america"
    setup.trial_update(actor=actors.data_manager, trial=trial, data={"dosage_table": "eanm", "fallback_dosage_table": "north_america"},
                       reason="harmonise, NaF from the North American table")
    trial.refresh_from_db()
    assert (trial.dosage_table, trial.fallback_dosage_table) == ("eanm", "north_america")


def test_a_trial_set_up_before_the_rule_cannot_record_a_dose_without_recommendation(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NAF-OLD", agent_code="F18_NAF", dosage_table="north_america")
    subject = enrolled(actors, trial)
    Trial.objects.filter(pk=trial.pk).update(dosage_table="eanm")  # as a trial stored before set-up checked the pair
    subject.refresh_from_db()
    subject.trial.refresh_from_db()
    with pytest.raises(ApplicationError) as refused:
        record(actors, subject)
    assert refused.value.code == "no_recommendation"
    assert not DosingRecord.objects.exists() and not AuditEvent.objects.filter(object_type="trials.dosingrecord").exists()


# --- FDG acquisition: per trial, per site ---------------------------------------------------------------------
def test_fdg_acquisition_is_the_sites_scanner_else_the_trials(actors: Actors) -> None:
    """EANM card, 18F-FDG, 20 kg (class B multiple 4.86): 2D baseline 25.9 MBq -> 125.874 MBq, 3D baseline 14.0 MBq
    -> 68.04 MBq (EANM card 2016; Lassmann, EJNMMI 2008;35:1666 for the 2D/3D minima)."""
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="FDG-2D", agent_code="F18_FDG", dosage_table="eanm",
                       fdg_acquisition="2D")
    subject = enrolled(actors, trial)
    two_d = record(actors, subject, entered="130", calibrated_activity_mbq=Decimal("130"))
    assert two_d.recommended_activity_mbq == Decimal("125.874") and two_d.dosage_acquisition == "2D"
    assert "2D acquisition" in two_d.dosage_note
    site = site_of(trial, actors.hospital_a)
    setup.trial_site_update(actor=actors.data_manager, site=site, data={"fdg_acquisition": "3D"}, reason="new PET/CT scanner")
    subject.refresh_from_db()
    three_d = record(actors, Subject.objects.get(pk=subject.pk), entered="70", calibrated_activity_mbq=Decimal("70"))
    assert three_d.recommended_activity_mbq == Decimal("68.040") and three_d.dosage_acquisition == "3D"
    assert two_d.pk != three_d.pk and DosingRecord.objects.get(pk=two_d.pk).dosage_acquisition == "2D"  # the old dose keeps its mode


def test_acquisition_is_not_recorded_where_it_does_not_apply(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="GA-1", fdg_acquisition="2D")  # 68Ga-DOTATATE on EANM
    assert record(actors, enrolled(actors, trial)).dosage_acquisition == ""


# --- Entered administered activity against the computed net activity ------------------------------------------
@pytest.mark.parametrize(("entered", "percent", "flagged"), [
    ("105", Decimal("5.00"), False),  # exactly 5 %: within the tolerance
    ("105.1", Decimal("5.10"), True),
    ("94.9", Decimal("-5.10"), True),
    ("100", Decimal("0.00"), False),
])
def test_entered_activity_more_than_5_percent_from_the_net_is_flagged(actors: Actors, entered: str, percent: Decimal, flagged: bool) -> None:
    """Net 100 MBq (calibrated at the injection, no residual); the entered activity is kept as entered."""
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="GA-E")
    dose = record(actors, enrolled(actors, trial), entered=entered)
    assert dose.net_activity_mbq == Decimal("100.000") and dose.administered_activity_mbq == Decimal(entered)
    assert (dose.entered_vs_net_percent, dose.entered_activity_mismatch) == (percent, flagged)


def test_the_flag_and_both_numbers_are_in_the_api_and_on_the_subject_page(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="GA-P")
    subject = enrolled(actors, trial)
    dose = record(actors, subject, entered="120")
    body = api_client(actors.coordinator_a).get(reverse("dosing-record-detail", args=[dose.pk])).json()
    assert (body["administered_activity_mbq"], body["net_activity_mbq"]) == ("120.000", "100.000")
    assert body["entered_vs_net_percent"] == "20.00" and body["entered_activity_mismatch"] is True
    assert body["dosage_table"] == "eanm" and body["dosage_table_is_fallback"] is False
    page = api_client(actors.coordinator_a).get(reverse("web-subject-detail", args=[subject.pk])).content.decode()
    assert 'data-testid="dose-entered-mismatch"' in page and "120.000" in page and "+20.00" in page


# --- Decay through the API where the platform's zone has daylight saving --------------------------------------
@pytest.mark.parametrize(("zone", "calibrated", "administered", "elapsed_h"), [
    # Berlin autumn change (25 Oct 2026, 03:00 CEST -> 02:00 CET): 01:30 CEST to 03:30 CET is 3 hours.
    ("Europe/Berlin", "2026-10-25T01:30:00+02:00", "2026-10-25T03:30:00+01:00", 3),
    # New York autumn change (1 Nov 2026, 02:00 EDT -> 01:00 EST): 00:30 EDT to 02:30 EST is 3 hours.
    ("America/New_York", "2026-11-01T00:30:00-04:00", "2026-11-01T02:30:00-05:00", 3),
])
def test_a_dose_posted_across_daylight_saving_decays_over_the_elapsed_time(actors: Actors, zone: str, calibrated: str,
                                                                          administered: str, elapsed_h: int) -> None:
    """DRF hands the service both times in the platform's zone; the decay is over the elapsed time
    (A = A0 x 2^(-t/T½), 68Ga T½ 67.71 min): 100 MBq over 3 h -> 15.840 MBq, where the wall clock (2 h) gave 29.27."""
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="GA-TZ")
    subject = enrolled(actors, trial, at=datetime(2026, 10, 20, 9, 0, tzinfo=SH))
    with override_settings(TIME_ZONE=zone), time_machine.travel(datetime(2026, 11, 2, 12, 0, tzinfo=SH), tick=False):
        response = api_client(actors.coordinator_a).post(reverse("dosing-record-list"), {
            "subject": subject.pk, "lot_number": "GA-1", "calibrated_activity_mbq": "100", "calibrated_at": calibrated,
            "administered_activity_mbq": "15.8", "administered_at": administered, "weight_kg": "20"}, format="json")
    assert response.status_code == 201, response.content
    expected = Decimal(str(100 * 2 ** (-elapsed_h * 3600 / GA68))).quantize(Decimal("0.001"))
    assert Decimal(response.json()["net_activity_mbq"]) == expected == Decimal("15.840")
