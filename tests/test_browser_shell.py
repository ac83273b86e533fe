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
