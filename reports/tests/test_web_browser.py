"""A report requested in a real browser (Playwright + Debian Chromium): the form shows its progress from the moment it is
sent (held here until checked, as a slow build holds it without a broker), then the run's page shows the PDF's figures
as SVG, every one loaded, and tables with labels."""
import json

import pytest

from conftest import Actors, browser_login, screenshot
from reports.tests.helpers import make_cohort

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_form_shows_progress_and_the_page_shows_svg_figures(page, actors: Actors, pipeline_runner) -> None:  # type: ignore[no-untyped-def]
    make_cohort(actors)
    held = []
    page.route("**/reports/new/cohort/", lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    browser_login(page, "data_manager")
    page.goto("/reports/new/cohort/")
    indicator = page.get_by_test_id("run-submitting")
    assert not indicator.is_visible()
    # The page is navigating while the request is held, so it records what it shows in sessionStorage (kept across the
    # navigation) each time the indicator changes; read after the run's page has opened.
    page.evaluate("""() => {
      const box = document.getElementById("report-submitting"), button = document.querySelector("[data-testid=run-report]");
      const record = () => sessionStorage.setItem("shown", JSON.stringify({visible: !box.hidden, disabled: button.disabled,
        text: box.innerText, elapsed: Number(box.querySelector("[data-elapsed]").textContent)}));
      new MutationObserver(record).observe(box, {attributes: true, childList: true, subtree: true, characterData: true});
    }""")
    page.get_by_test_id("run-report").click(no_wait_after=True)
    page.wait_for_timeout(2500)  # the request is held (a slow build without a broker holds it the same way)
    assert held, "the form was not sent"
    held[0].continue_()
    page.wait_for_url("**/reports/runs/*/")
    page.get_by_test_id("tables").wait_for(timeout=60_000)
    shown = json.loads(page.evaluate("() => sessionStorage.getItem('shown')"))
    assert shown["visible"] and shown["disabled"] and "Requesting the report" in shown["text"] and shown["elapsed"] >= 1
    for key in ("km_os", "km_efs", "dose_hist"):
        assert page.get_by_test_id(f"figure-{key}").is_visible()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=plots] img')]"
                           ".every(img => img.complete && img.naturalWidth > 0)")
    assert page.locator("[data-testid=plots] img").count() >= 3
    risk = page.get_by_test_id("table-patients_by_inrg_risk").inner_text()
    assert "Very low" in risk and "very_low" not in risk and "25.0" in risk
    screenshot(page, "report-readable")
