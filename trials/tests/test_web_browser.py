"""In a real browser: investigator_a opens an adverse event, signs it in the e-signature dialog after re-entering
the password (a wrong one first: refused, the dialog opens again with the message)."""
import pytest

from conftest import PASSWORD, Actors, browser_login, screenshot
from trials.oversight.models import Signature
from trials.tests.test_web_fixtures import World, world  # noqa: F401 (fixture)

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
