"""The page shell in a real browser: log in, the menu, the language switch (zh-Hans labels), log out."""
import pytest

from conftest import Actors, browser_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_language_switch_and_logout(page, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    assert "/accounts/login/" in page.url  # every page needs a login
    browser_login(page, "coordinator_a")
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Worklist").is_visible()
    assert page.get_by_test_id("current-user").inner_text() == "coordinator_a"

    page.get_by_test_id("language-switch").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("navigation", name="主导航").get_by_role("link", name="工作列表").is_visible()
    screenshot(page, "home-zh-hans")

    page.get_by_test_id("language-switch").click()  # back to English, which the next tests expect
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/**")


def test_wrong_password_says_so_on_the_page(page, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("coordinator_a")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    assert "didn't match" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Username").input_value() == "coordinator_a"  # what the user typed is kept


def test_sponsor_runs_a_trial_report_and_downloads_it(page, actors: Actors, pipeline_runner) -> None:  # type: ignore[no-untyped-def]
    from imaging.models import ImagingStudy
    from imaging.reading.tests.helpers import patient_at, study_of
    from reports.tests.trial_helpers import make_trial_world

    world = make_trial_world(actors, code="NB-WEB")
    held = study_of(patient_at(actors.coordinator_a, actors.hospital_a))  # an upload on hold for the coordinator's list
    ImagingStudy.objects.filter(pk=held.pk).update(status=ImagingStudy.Status.ON_HOLD)

    browser_login(page, "sponsor")
    assert page.get_by_test_id("panel-accrual").get_by_text("NB-WEB").is_visible()
    screenshot(page, "home-sponsor")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.get_by_test_id("new-trial").click()
    page.get_by_label("Trial").select_option(str(world.trial.pk))
    page.get_by_role("button", name="Run the report").click()
    # htmx polls the run until it is done; the download links appear with the finished block.
    page.get_by_test_id("download-xlsx").wait_for(timeout=60_000)
    assert page.get_by_test_id("run-status").inner_text() == "Succeeded"
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=plots] img')]"
                           ".every(img => img.complete && img.naturalWidth > 0)")
    screenshot(page, "report-run")
    with page.expect_download() as download_info:
        page.get_by_test_id("download-xlsx").click()
    download = download_info.value
    assert download.suggested_filename == "trial.xlsx"
    with open(download.path(), "rb") as fh:
        assert fh.read(2) == b"PK"
    html = page.content()
    assert all(s.patient.study_id not in html for s in world.subjects)  # sponsors see subject numbers only

    page.get_by_role("button", name="Log out").click()
    browser_login(page, "coordinator_a")
    assert page.get_by_test_id("group-upload_on_hold").is_visible()
    screenshot(page, "home-coordinator")
