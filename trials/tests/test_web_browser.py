"""In a real browser: investigator_a opens an adverse event, signs it in the e-signature dialog after re-entering
the password (a wrong one first: refused, the dialog opens again with the message), then records the 24-hour report
of a serious event from the clock table (the time defaults to now)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import PASSWORD, Actors, browser_login, screenshot
from trials.oversight.models import Signature
from trials.safety.models import ReportingClock
from trials.safety.services.events import adverse_event_report
from trials.tests.test_web_fixtures import World, ae_data, world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_investigator_signs_an_adverse_event(page, actors: Actors, world: World) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    browser_login(page, "investigator_a")
    page.goto(f"/trials/adverse-events/{world.event_a.pk}/")
    assert "AE 1 of" in page.get_by_test_id("ae-title").inner_text()
    page.get_by_role("button", name="Sign…").click()
    dialog = page.get_by_role("dialog", name="Electronic signature")
    dialog.wait_for(state="visible")
    assert "Assessed as investigator" in dialog.get_by_test_id("sign-meaning").inner_text()
    dialog.get_by_label("Your password").fill("not-my-password")
    dialog.get_by_role("button", name="Sign", exact=True).click()
    dialog = page.get_by_role("dialog", name="Electronic signature")
    dialog.wait_for(state="visible")  # re-opened with the refusal next to the password
    assert "Incorrect password." in dialog.inner_text()
    assert not Signature.objects.exists()
    screenshot(page, "trials-ae-signature-dialog")
    dialog.get_by_label("Your password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign", exact=True).click()
    page.get_by_test_id("signature-list").wait_for()
    assert "Assessed as investigator" in page.get_by_test_id("signature-list").inner_text()
    assert Signature.objects.get().status == Signature.Status.VALID
    screenshot(page, "trials-ae-signed")

    serious = adverse_event_report(actor=actors.coordinator_a, subject=world.subject_a, data=ae_data(
        grade=3, serious_hospitalisation=True, site_awareness_at=timezone.now() - timedelta(hours=1)))
    page.goto(f"/trials/adverse-events/{serious.pk}/")
    page.get_by_test_id("clock-report-form").get_by_role("button", name="Record report").click()
    page.get_by_text("Report recorded").wait_for()
    assert ReportingClock.objects.get(event=serious).status == ReportingClock.Status.MET
    screenshot(page, "trials-ae-clock-reported")
