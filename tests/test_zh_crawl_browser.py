"""The zh-Hans check of tests/test_zh_crawl.py in Chromium, over a sample of pages (issue 17): after the language
switch, the pages a coordinator opens first (worklist, patients, a patient, the consent form, trials, data queries,
reports) show no catalogue string in English and no English refusal, and a refused consent shows its errors in
Chinese. The rendered DOM is checked (what the browser shows after scripts ran), not only the server's HTML."""
from datetime import date

import pytest

from conftest import Actors, browser_login, screenshot
from registry.tests.builders import make_document, make_patient
from tests.test_zh_crawl import catalogue_strings, problems_of
from trials.tests.builders import make_trial

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_coordinators_first_pages_in_chinese(page, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    make_document(assent_age_years=8)
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2010, 1, 1), diagnosis_date=date(2020, 1, 1))
    make_trial(actors.data_manager, [actors.hospital_a])
    whole, sentences = catalogue_strings()

    browser_login(page, "coordinator_a")
    page.get_by_test_id("language-switch").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    findings: list[str] = []
    for path in ("/", "/patients/", f"/patients/{patient.study_id}/", f"/patients/{patient.study_id}/consents/new/", "/trials/",
                 "/trials/queries/", "/reports/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        found, english = problems_of(page.content(), whole, sentences)
        findings += [f"{path}: untranslated {s!r}" for s in found] + [f"{path}: English {s!r}" for s in english]

    # A refused consent (a ten-year-old, assent "not applicable", no guardian): the errors in Chinese, none in English.
    page.goto(f"/patients/{patient.study_id}/consents/new/")
    page.locator("#id_document").select_option(index=1)
    page.locator("#id_assent").select_option("not_applicable")
    page.locator("#id_signed_date").fill("2020-02-01")
    assert page.get_by_test_id("age-at-signing").is_visible()  # the script states whether assent is needed
    page.get_by_test_id("consent-form").locator("button.btn-primary").click()
    page.wait_for_load_state()
    assert page.locator("#id_assent_error").is_visible()
    found, english = problems_of(page.content(), whole, sentences)
    findings += [f"refused consent: untranslated {s!r}" for s in found] + [f"refused consent: English {s!r}" for s in english]
    screenshot(page, "consent-refused-zh-hans")
    page.get_by_test_id("language-switch").click()  # back to English for the next tests
    assert not findings, "\n".join(findings)
