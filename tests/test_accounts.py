"""Login pages, lockout after repeated failures (behind a proxy too), idle timeout, password rules, languages, API docs access."""
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.password_validation import password_validators_help_texts, validate_password
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from conftest import PASSWORD, Actors
from registry.lockout import client_ip


def test_login_page_logs_in_and_shows_roles(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/accounts/login/", {"username": "coordinator_a", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert b"Research coordinator" in response.content and b"AAA" in response.content


def test_wrong_password_shows_the_message(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/accounts/login/", {"username": "coordinator_a", "password": "wrong"})
    assert response.status_code == 200 and b"match. Please try again." in response.content


def test_user_without_membership_is_told_they_see_nothing(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    client.force_login(actors.nobody)
    assert b"no role at any hospital" in client.get("/").content


@override_settings(AXES_ENABLED=True)
def test_repeated_failures_lock_the_account(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        client.post("/accounts/login/", {"username": "coordinator_a", "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": "coordinator_a", "password": PASSWORD})
    assert locked.status_code == 429 and b"Too many failed login attempts" in locked.content
    # Another user from the same address is not locked out by someone else's failures.
    other = client.post("/accounts/login/", {"username": "investigator_a", "password": PASSWORD})
    assert other.status_code == 302


@override_settings(AXES_ENABLED=True)
def test_token_endpoint_is_throttled_too(actors: Actors) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    for _ in range(5):
        client.post("/api/v1/auth/token/", {"username": "coordinator_a", "password": "wrong"})
    response = client.post("/api/v1/auth/token/", {"username": "coordinator_a", "password": PASSWORD})
    assert response.status_code == 429


def test_idle_session_expires(client, actors: Actors, settings) -> None:  # type: ignore[no-untyped-def]
    client.post("/accounts/login/", {"username": "coordinator_a", "password": PASSWORD})
    assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)):
        response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_session_is_extended_by_activity(client, actors: Actors, settings) -> None:  # type: ignore[no-untyped-def]
    client.post("/accounts/login/", {"username": "coordinator_a", "password": PASSWORD})
    half = timedelta(seconds=settings.SESSION_COOKIE_AGE * 0.6)
    with time_machine.travel(timezone.now() + half):
        assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + 2 * half):
        assert client.get("/").status_code == 200


@pytest.mark.parametrize("password", ["short1", "password1234", "123456789012"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationError):
        validate_password(password)


@pytest.mark.parametrize("password", ["a" * 12, " " * 12, "abcabcabcabc", "ab ab ab ab ab ", "\t\t\t\t\t\t\n\n\n\n\n\n"])
def test_passwords_of_too_few_distinct_characters_are_refused(password: str) -> None:
    """Twelve identical characters or spaces pass Django's length, common and numeric rules; ours refuses them."""
    with pytest.raises(ValidationError) as refused:
        validate_password(password)
    assert "password_too_few_distinct_characters" in [e.code for e in refused.value.error_list]
    assert "at least 4 different characters" in " ".join(refused.value.messages)


@pytest.mark.parametrize("password", ["abcdabcdabcd", "lantern quiver 7", PASSWORD])
def test_passwords_of_four_distinct_characters_or_more_pass(password: str) -> None:
    assert validate_password(password) is None


def test_the_distinct_characters_rule_is_in_the_help_text() -> None:
    """The admin's and the password forms' help lists every rule, ours included."""
    assert "at least 4 different characters, not counting spaces" in " ".join(password_validators_help_texts())


def _fail(client, username: str, times: int, **headers: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(times):
        client.post("/accounts/login/", {"username": username, "password": "wrong"}, **headers)


@override_settings(AXES_ENABLED=True)
def test_locked_out_api_client_gets_the_json_error_with_seconds(actors: Actors) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    refused = [client.post("/api/v1/auth/token/", {"username": "coordinator_a", "password": "wrong"}).status_code for _ in range(5)]
    assert refused == [400, 400, 400, 400, 429]  # the fifth failure locks
    response = client.post("/api/v1/auth/token/", {"username": "coordinator_a", "password": PASSWORD})
    assert response.status_code == 429 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "locked_out" and body["retry_after_seconds"] == 1800 and response["Retry-After"] == "1800"
    assert "Try again in 30\xa0minutes" in body["detail"] and "PT30M" not in body["detail"]
    assert "token" not in body  # the right password while locked out still gets no token


@override_settings(AXES_ENABLED=True, AXES_COOLOFF_TIME=1.5)
def test_login_form_posted_by_a_script_asking_for_json_gets_json(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    _fail(client, "coordinator_a", 5)
    response = client.post("/accounts/login/", {"username": "coordinator_a", "password": PASSWORD}, HTTP_ACCEPT="application/json")
    assert response.status_code == 429 and response["Retry-After"] == "5400"
    assert response.json()["retry_after_seconds"] == 5400 and "1\xa0hour, 30\xa0minutes" in response.json()["detail"]


@override_settings(AXES_ENABLED=True)
def test_locked_out_page_says_the_wait_in_words(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    _fail(client, "coordinator_a", 5)
    page = client.post("/accounts/login/", {"username": "coordinator_a", "password": PASSWORD})
    assert page.status_code == 429 and page["Content-Type"].startswith("text/html") and page["Retry-After"] == "1800"
    text = page.content.decode()
    assert "Try again in 30\xa0minutes" in text and "PT30M" not in text
    chinese = client.post("/accounts/login/", {"username": "coordinator_a", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "请在 30\xa0分钟 后重试" in chinese.content.decode()


@override_settings(AXES_ENABLED=True, TRUSTED_PROXY_COUNT=1)
def test_two_clients_behind_the_proxy_are_locked_separately(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    """Both reach Django from the proxy's address; the proxy appends each one's own address to X-Forwarded-For."""
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    first, second = {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.7"}, {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.8"}
    _fail(client, "coordinator_a", 5, **first)
    locked = client.post("/accounts/login/", {"username": "coordinator_a", "password": PASSWORD}, **first)
    assert locked.status_code == 429
    # A value the first client writes into the header itself comes before the proxy's and changes nothing.
    spoofed = {**proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.1, 203.0.113.7"}
    assert client.post("/accounts/login/", {"username": "coordinator_a", "password": PASSWORD}, **spoofed).status_code == 429
    assert client.post("/accounts/login/", {"username": "coordinator_a", "password": PASSWORD}, **second).status_code == 302


@override_settings(AXES_ENABLED=True, TRUSTED_PROXY_COUNT=0)
def test_without_the_proxy_setting_clients_behind_it_share_one_lock(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    """What TRUSTED_PROXY_COUNT is for: left at 0 behind a proxy, one client's failures lock the user out for all."""
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    _fail(client, "coordinator_a", 5, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.7")
    response = client.post("/accounts/login/", {"username": "coordinator_a", "password": PASSWORD}, **proxy,
                           HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert response.status_code == 429


@pytest.mark.parametrize(("count", "forwarded", "expected"), [
    (0, "203.0.113.7", "10.0.0.2"),  # no proxy trusted: the header is the client's own words
    (1, "203.0.113.7", "203.0.113.7"),
    (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),
    (2, "198.51.100.1, 203.0.113.7, 10.0.0.1", "203.0.113.7"),
    (2, "203.0.113.7", "10.0.0.2"),  # fewer hops than proxies: it did not come through them
    (1, "not-an-address", "10.0.0.2"),
    (1, "", "10.0.0.2"),
])
def test_client_ip_is_the_address_the_outermost_trusted_proxy_saw(rf, settings, count: int, forwarded: str,  # type: ignore[no-untyped-def]
                                                                  expected: str) -> None:
    settings.TRUSTED_PROXY_COUNT = count
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def _external_references(html: str) -> list[str]:
    """Every src/href of a page that points at another host (absolute or protocol-relative)."""
    return [url for url in re.findall(r'(?:src|href)="([^"]*)"', html) if re.match(r"^(?:[a-z]+:)?//", url, re.I)]


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_api_docs_pages_load_everything_from_this_server(client, url: str) -> None:  # type: ignore[no-untyped-def]
    """Hospital networks have no internet: the viewers' scripts, styles and icon are our static files (sidecar)."""
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert _external_references(html) == [] and "fonts.googleapis" not in html
    assets = re.findall(r'(?:src|href)="/static/([^"?]+)', html)
    assert assets and all(finders.find(asset) for asset in assets), assets
    if url == "/api/docs/":
        assert '"validatorUrl": null' in html  # Swagger UI would otherwise send the schema to an online validator


@override_settings(API_DOCS_PUBLIC=False)
def test_api_schema_and_docs_need_a_login_when_not_public(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    assert client.get("/api/schema/").status_code == 401
    for url in ("/api/docs/", "/api/redoc/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={url}"
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=actors.monitor_a).key}")
    assert token.get("/api/schema/").status_code == 200
    client.force_login(actors.nobody)  # any account: the schema holds no data
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200 and client.get("/api/redoc/").status_code == 200


def test_pages_in_simplified_chinese(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "登录".encode() in page.content and b'lang="zh-hans"' in page.content
    client.force_login(actors.coordinator_a)
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "研究协调员" in home and "API 文档" in home


def test_language_switch_persists(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    assert "登录" in client.get("/accounts/login/").content.decode()
