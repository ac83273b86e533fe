"""The adverse event's Sign button and its /sign/ address: hidden once the investigator signed, a second signature
refused with its message, a reload of /sign/ lands on the event (issue 17)."""
import pytest
from django.urls import reverse

from conftest import PASSWORD, Actors
from trials.oversight.models import Signature
from trials.tests.test_web_fixtures import World, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
SIGN = {"meaning": Signature.Meaning.ASSESSED, "password": PASSWORD}


def test_the_sign_button_goes_once_signed_and_a_second_signature_is_refused(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.investigator_a)
    detail, sign = reverse("web-ae-detail", args=[world.event_a.pk]), reverse("web-ae-sign", args=[world.event_a.pk])
    assert 'data-testid="sign-dialog"' in client.get(detail).content.decode()
    assert client.post(sign, SIGN)["Location"] == detail
    page = client.get(detail).content.decode()
    assert 'data-testid="sign-dialog"' not in page and 'data-testid="signed-by-me"' in page
    # A second post (another tab, a double click) is refused, with the message and no second signature.
    response = client.post(sign, SIGN)
    text = response.content.decode()
    assert response.status_code == 400 and "You have already signed this version of the record with this meaning" in text
    assert f'history.replaceState(null, "", "{detail}#h-signatures")' in text  # the address bar shows the event again
    assert Signature.objects.filter(status=Signature.Status.VALID).count() == 1


def test_a_get_of_the_sign_address_redirects_to_the_event(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.investigator_a)
    response = client.get(reverse("web-ae-sign", args=[world.event_a.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("web-ae-detail", args=[world.event_a.pk])


def test_a_wrong_password_puts_the_events_address_back(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.investigator_a)
    response = client.post(reverse("web-ae-sign", args=[world.event_a.pk]), {**SIGN, "password": "wrong"})
    text = response.content.decode()
    assert response.status_code == 400 and "history.replaceState" in text and "getOrCreateInstance" in text


def test_the_second_signature_is_refused_in_chinese(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.investigator_a)
    client.cookies["django_language"] = "zh-hans"
    sign = reverse("web-ae-sign", args=[world.event_a.pk])
    client.post(sign, SIGN)
    assert "您已签署此报告的当前版本。" in client.get(reverse("web-ae-detail", args=[world.event_a.pk])).content.decode()
    text = client.post(sign, SIGN).content.decode()
    assert "您已以此签名含义签署过该记录的此版本" in text and "already signed" not in text
