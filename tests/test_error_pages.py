"""Friendly 403/404/500 pages in English and Chinese, also with DEBUG on as the demo runs (config/error_pages.py), and
the favicon (issue 17)."""
import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import path, reverse

from config import urls as site_urls
from config.settings import dev
from conftest import Actors
from trials.models import SubjectVisit
from trials.tests.test_web_fixtures import World, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
DEV_MIDDLEWARE = dev.MIDDLEWARE


def _boom(request):  # type: ignore[no-untyped-def]
    raise RuntimeError("a failing view")


# The site's own URLs plus one failing view, for the 500 page.
urlpatterns = [*site_urls.urlpatterns, path("boom/", _boom)]


def test_the_demo_settings_install_the_friendly_pages() -> None:
    assert dev.FRIENDLY_ERROR_PAGES is True and DEV_MIDDLEWARE[0] == "config.error_pages.FriendlyErrorPagesMiddleware"


@pytest.mark.parametrize("debug", [False, True])
def test_a_missing_page_is_the_friendly_404_without_the_url_patterns(client, actors: Actors, debug: bool) -> None:
    client.force_login(actors.coordinator_a)
    with override_settings(DEBUG=debug, FRIENDLY_ERROR_PAGES=True, MIDDLEWARE=DEV_MIDDLEWARE):
        for url in ("/no-such-page/", reverse("web-ae-detail", args=[999999])):  # unmatched, and a view's Http404
            response = client.get(url)
            text = response.content.decode()
            assert response.status_code == 404 and 'data-testid="error-page" data-status="404"' in text
            assert "Page not found" in text and "URLconf" not in text and "api/v1/" not in text and "DEBUG = True" not in text
            assert 'href="/"' in text  # the way back to the worklist


@override_settings(DEBUG=True, FRIENDLY_ERROR_PAGES=True, MIDDLEWARE=DEV_MIDDLEWARE)
def test_the_404_page_in_chinese(client, actors: Actors) -> None:
    client.force_login(actors.coordinator_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    text = client.get("/no-such-page/").content.decode()
    assert '<html lang="zh-hans">' in text and "此地址没有页面" in text and "返回工作列表" in text and 'data-status="404"' in text
    assert "Page not found" not in text


@override_settings(DEBUG=True, FRIENDLY_ERROR_PAGES=False, MIDDLEWARE=DEV_MIDDLEWARE)
def test_a_developer_can_ask_for_the_technical_page(client, actors: Actors) -> None:
    client.force_login(actors.coordinator_a)
    assert "URLconf" in client.get("/no-such-page/").content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_a_refused_role_gets_the_403_page_with_the_refusal(client, actors: Actors, world: World, debug: bool) -> None:  # noqa: F811
    """A monitor reads a visit but does not record it: the view's PermissionDenied message, in the user's language."""
    url = reverse("web-visit-record", args=[SubjectVisit.objects.filter(subject=world.subject_a).first().pk])
    client.force_login(actors.monitor_a)
    with override_settings(DEBUG=debug, FRIENDLY_ERROR_PAGES=True, MIDDLEWARE=DEV_MIDDLEWARE):
        text = client.get(url).content.decode()
        assert 'data-status="403"' in text and "Your role does not record visits." in text and "Not allowed" in text
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
        text = client.get(url).content.decode()
    assert 'data-status="403"' in text and "您的角色不能记录访视。" in text


@pytest.mark.urls("tests.test_error_pages")
@pytest.mark.parametrize("debug", [False, True])
def test_a_failing_view_is_the_friendly_500(client, actors: Actors, debug: bool) -> None:
    client.raise_request_exception = False
    client.force_login(actors.coordinator_a)
    with override_settings(DEBUG=debug, FRIENDLY_ERROR_PAGES=True, MIDDLEWARE=DEV_MIDDLEWARE):
        response = client.get("/boom/")
    text = response.content.decode()
    assert response.status_code == 500 and 'data-status="500"' in text and "Server error" in text
    assert "a failing view" not in text and "Traceback" not in text


@pytest.mark.urls("tests.test_error_pages")
def test_the_500_page_in_chinese(client, actors: Actors) -> None:
    client.raise_request_exception = False
    client.force_login(actors.coordinator_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    text = client.get("/boom/").content.decode()
    assert '<html lang="zh-hans">' in text and "服务器错误" in text and "Server error" not in text


def test_the_favicon_is_served(client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.ico")
    page = client.get(reverse("login")).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in page
