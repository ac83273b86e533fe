"""The worklist by urgency in a real browser (issue 17, "one long worklist"): the investigator's first screen starts
with the overdue SAE clock, counting down, then the AE they must sign, before any visit; groups fold; "N more" opens
the group's own paginated list."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import Actors, browser_login, screenshot
from registry.views import PER_GROUP
from tests.test_worklist_paging import overdue_visits
from trials.safety.services.clocks import reporting_clocks_sweep
from trials.safety.tests.test_web_safety_actions import serious_event
from trials.tests.test_web_fixtures import World, world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_investigators_first_screen_starts_with_the_overdue_sae_clock(page, actors: Actors, world: World) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    serious_event(actors.coordinator_a, world.subject_a, timezone.now() - timedelta(hours=30))  # 24-hour clock lapsed
    reporting_clocks_sweep()
    overdue_visits(actors, PER_GROUP + 5, patients=3)
    browser_login(page, "investigator_a")
    page.goto(reverse("home"))
    groups = page.locator("[data-testid='worklist'] details[data-testid^='group-']")
    keys = [g.get_attribute("data-testid") for g in groups.all()]
    assert keys[0] == "group-sae_clock_late" and keys[1] == "group-ae_to_sign", keys
    assert keys.index("group-visit_overdue") > 1
    # Above the fold: the late clock and the AE to sign are visible on a 1280x720 screen without scrolling.
    for key in ("group-sae_clock_late", "group-ae_to_sign"):
        box = page.get_by_test_id(key).bounding_box()
        assert box is not None and box["y"] < 720, (key, box)
    countdown = page.get_by_test_id("group-sae_clock_late").locator("time[data-countdown]")
    assert countdown.inner_text().startswith("overdue by")
    screenshot(page, "worklist-investigator")
    # A group folds and unfolds from its heading.
    late = page.get_by_test_id("group-sae_clock_late")
    late.locator("summary").click()
    assert late.get_attribute("open") is None and not countdown.is_visible()
    # "N more" opens the visits group's own list, with every item of the group and only those.
    more = page.get_by_test_id("more-visit_overdue")
    assert more.inner_text() == "and 5 more"
    more.click()
    page.wait_for_url(f"**{reverse('web-worklist-group', args=['visit_overdue'])}")
    assert page.get_by_test_id("count-visit_overdue").inner_text() == str(PER_GROUP + 5)
    assert page.locator("[data-testid='item-visit_overdue']").count() == PER_GROUP + 5
    assert page.locator("[data-testid='item-sae_clock_late']").count() == 0
