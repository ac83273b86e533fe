"""The coordinator's patient journey in a real browser: register a patient, record consent, enter a follow-up visit."""
import re

import pytest

from conftest import Actors, browser_login, screenshot
from registry.models import ConsentRecord, FollowUpVisit, Patient
from registry.tests.builders import default_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def field(page, label: str):  # type: ignore[no-untyped-def]
    """The input labelled `label` (required fields' labels end with an asterisk hidden from screen readers)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def test_coordinator_registers_consents_and_enters_a_visit(page, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    document = default_document()
    browser_login(page, "coordinator_a")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_test_id("register-patient").click()
    page.wait_for_url("**/patients/register/")

    # First a duplicate-free registration with a mistake: the service's refusal shows next to the field, input kept.
    field(page, "Name").fill("Wang Fang")
    field(page, "Hospital record number").fill("MRN-BROWSER-1")
    field(page, "Sex").select_option("F")
    field(page, "Date of birth").fill("2019-03-15")
    field(page, "Diagnosis date").fill("2018-09-15")
    for label, value in (("Primary site", "adrenal"), ("INRGSS stage", "M"), ("INRG risk group", "high"), ("MYCN", "amplified"),
                         ("11q aberration", "no"), ("Ploidy", "diploid"), ("Histology (INPC)", "unfavourable")):
        field(page, label).select_option(value)
    page.get_by_role("button", name="Register").click()
    assert "The diagnosis date is before the date of birth." in page.locator("#id_diagnosis_date_error").inner_text()
    assert field(page, "Name").input_value() == "Wang Fang"
    field(page, "Diagnosis date").fill("2020-09-15")
    screenshot(page, "patient-register")
    page.get_by_role("button", name="Register").click()
    page.wait_for_url("**/patients/AAA-*/")
    patient = Patient.objects.get()
    assert page.get_by_test_id("study-id").inner_text() == patient.study_id
    assert "Wang Fang" in page.get_by_test_id("identity").inner_text()
    assert "No valid consent" in page.get_by_test_id("consent-state").inner_text()

    page.get_by_test_id("record-consent").click()
    field(page, "Consent form version").select_option(str(document.pk))
    field(page, "Signing guardian's relationship").select_option("mother")
    field(page, "Child assent").select_option("not_applicable")
    field(page, "Signed on").fill("2020-09-20")
    field(page, "Witnessed by").fill("Nurse Chen")
    screenshot(page, "patient-consent")
    page.get_by_role("button", name="Record consent").click()
    page.wait_for_url(f"**/patients/{patient.study_id}/")
    assert "Valid consent" in page.get_by_test_id("consent-state").inner_text()
    assert "Nurse Chen" in page.get_by_test_id("consent-table").inner_text()

    page.get_by_role("link", name="Enter visit 1", exact=True).click()
    field(page, "Visit date").fill("2020-12-15")
    field(page, "Disease status").select_option("PR")
    page.get_by_role("button", name="Save visit").click()
    page.wait_for_url(f"**/patients/{patient.study_id}/")
    assert "Visit 1 recorded." in page.get_by_role("alert").inner_text()
    first_row = page.get_by_test_id("timeline").locator("tbody tr").first
    assert "Done" in first_row.inner_text() and "Partial response" in first_row.inner_text()
    screenshot(page, "patient-detail")

    # The list filters in place (htmx) and keeps the filter in the address for the back button and bookmarks.
    page.get_by_role("link", name="Patients").first.click()
    field(page, "INRGSS stage").select_option("L1")
    page.get_by_text("No patients match.").wait_for()
    assert "stage=L1" in page.url
    field(page, "INRGSS stage").select_option("M")
    page.get_by_role("link", name=patient.study_id).click()
    page.get_by_test_id("language-switch").click()  # the patient page in Chinese: the page's and the code lists' labels
    page.get_by_role("heading", name="知情同意记录").wait_for()
    assert "部分缓解" in page.get_by_test_id("timeline").inner_text()
    screenshot(page, "patient-detail-zh-hans")

    assert ConsentRecord.objects.get(patient=patient).witnessed_by == "Nurse Chen"
    assert FollowUpVisit.objects.get(patient=patient, number=1).status == FollowUpVisit.Status.DONE
