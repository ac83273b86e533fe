"""The menu in a real browser (issue 17): the sponsor's shows no Patients, Upload or Reading, and the Reports page
offers the sponsor the trial report only (no data extract); a coordinator's menu for comparison. Both languages:
the zh-Hans menu of the sponsor names the same three pages."""
import pytest

from conftest import Actors, browser_login, screenshot
from registry.access import TrialRole
from trials.safety.tests.helpers import grant
from trials.tests.builders import make_trial

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _menu(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [name.strip() for name in page.get_by_test_id("main-menu").get_by_role("link").all_inner_texts()]


def test_the_sponsors_menu_and_a_coordinators(page, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    trial = make_trial(actors.data_manager, [actors.hospital_a, actors.hospital_b])
    grant(actors.sponsor, trial, TrialRole.SPONSOR)

    browser_login(page, "sponsor")
    page.goto("/trials/")
    assert _menu(page) == ["Worklist", "Trials", "Reports"]
    page.get_by_test_id("main-menu").get_by_role("link", name="Reports").click()
    page.wait_for_url("**/reports/")
    assert page.get_by_test_id("new-trial").is_visible() and page.get_by_test_id("new-extract").count() == 0
    screenshot(page, "menu-sponsor")
    page.get_by_test_id("language-switch").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert len(_menu(page)) == 3 and "Patients" not in _menu(page)
    page.get_by_test_id("language-switch").click()  # back to English for the next tests
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/**")

    browser_login(page, "coordinator_a")
    page.goto("/trials/")
    assert _menu(page) == ["Worklist", "Patients", "Upload", "Trials", "Low-dose evaluation", "Reports"]
    page.get_by_test_id("main-menu").get_by_role("link", name="Reports").click()
    page.wait_for_url("**/reports/")
    assert page.get_by_test_id("new-cohort").is_visible() and page.get_by_test_id("new-extract").count() == 0
