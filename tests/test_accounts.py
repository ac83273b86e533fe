"""Login pages, lockout after repeated failures, idle timeout, password rules, languages."""
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from conftest import PASSWORD, Actors


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


def test_pages_in_simplified_chinese(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "登录".encode() in page.content and b'lang="zh-hans"' in page.content
    client.force_login(actors.coordinator_a)
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "研究协调员" in home and "API 文档" in home


def test_language_switch_persists(client, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    assert "登录" in client.get("/accounts/login/").content.decode()
