"""Regulated-data guards in a real browser (issue 17): a second signature of the same report is refused, and a visit
outside its window is warned about and needs a reason."""
import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import PASSWORD, Actors, browser_login, screenshot
from trials.models import SubjectVisit
from trials.oversight.models import Signature
from trials.tests.test_web_fixtures import World, world  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign(page, password: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Sign…").click()
    dialog = page.get_by_test_id("sign-dialog")
    dialog.get_by_label("Your password").fill(password)
    dialog.locator(".modal-footer .btn-primary").click()
    page.wait_for_load_state()


def test_a_second_signature_is_refused(page, actors: Actors, world: World) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    detail = reverse("web-ae-detail", args=[world.event_a.pk])
    browser_login(page, "investigator_a")
    page.goto(detail)
    # A second tab opened before signing still shows the Sign button.
    other = page.context.new_page()
    other.goto(detail)
    _sign(page, PASSWORD)
    assert page.url.endswith(detail) and page.get_by_test_id("signed-by-me").is_visible()
    assert page.get_by_role("button", name="Sign…").count() == 0
    _sign(other, PASSWORD)
    assert "You have already signed this version of the record with this meaning" in other.get_by_role("alert").first.inner_text()
    assert other.url.endswith(detail + "#h-signatures")  # not /sign/: a reload is a GET of the event
    other.reload()
    assert other.url.endswith(detail + "#h-signatures") and other.get_by_test_id("signed-by-me").is_visible()
    screenshot(other, "ae-second-signature-refused")
    assert Signature.objects.filter(status=Signature.Status.VALID).count() == 1


def test_an_out_of_window_visit_needs_a_reason(page, actors: Actors, world: World) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    w4 = SubjectVisit.objects.get(subject=world.subject_a, definition__code="W4")  # today is before its window
    browser_login(page, "coordinator_a")
    page.goto(reverse("web-visit-record", args=[w4.pk]))
    warning = page.get_by_test_id("out-of-window-warning")
    assert not warning.is_visible()
    page.get_by_label("Done on").fill(timezone.localdate().isoformat())
    page.get_by_label("Done on").dispatch_event("change")
    assert warning.is_visible()
    page.get_by_role("button", name="Save the visit").click()
    page.wait_for_load_state()
    assert "Required: the date is outside the visit window." in page.content()
    page.get_by_label("Reason for the date outside the window").fill("Scanner down in week 4.")
    page.get_by_role("button", name="Save the visit").click()
    page.wait_for_url(f"**{reverse('web-subject-detail', args=[world.subject_a.pk])}")
    screenshot(page, "visit-out-of-window-recorded")
    w4.refresh_from_db()
    assert w4.status == SubjectVisit.Status.DONE and w4.out_of_window_reason == "Scanner down in week 4."
