"""Trial pages: correcting a recorded dose (`web-dose-correct`) through `dosing_record_update`, with a reason, the
computed values recomputed, one deviation per dose, refusals on the page and nothing written."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import Actors
from registry.models import AuditEvent
from trials.models import DosingRecord, ProtocolDeviation
from trials.tests.test_web_fixtures import World, world  # noqa: F401 (fixture)
from trials.tests.test_web_trials import dose

pytestmark = pytest.mark.django_db


def recorded(client, world: World, **overrides: str) -> tuple[DosingRecord, dict]:  # noqa: F811
    """The dose recorded through the page, and the form data that recorded it (its times fixed: a second `dose()`
    a minute later would carry other times, which are a change)."""
    data = dose(**overrides)
    assert client.post(reverse("web-dosing-create", args=[world.subject_a.pk]), data).status_code == 302
    return DosingRecord.objects.get(), data


def correct_url(record: DosingRecord) -> str:
    return reverse("web-dose-correct", args=[record.pk])


def test_coordinator_corrects_the_weight_and_everything_is_recomputed(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    record, data = recorded(client, world)
    before = record.recommended_activity_mbq
    page = client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
    assert f'href="{correct_url(record)}"' in page
    form = client.get(correct_url(record)).content.decode()
    # Prefilled from the record, times to the second so that an untouched time is not a change.
    assert 'value="L1"' in form and 'step="1"' in form
    assert timezone.localtime(record.administered_at).strftime("%Y-%m-%dT%H:%M:%S") in form
    response = client.post(correct_url(record), {**data, "weight_kg": "30", "reason": "weight from the ward chart"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("web-subject-detail", args=[world.subject_a.pk])
    assert "Dose corrected" in response.content.decode()
    record.refresh_from_db()
    assert record.weight_kg == Decimal("30") and record.recommended_activity_mbq > before
    event = AuditEvent.objects.get(action="update", object_type="trials.dosingrecord", object_id=str(record.pk))
    assert event.actor == actors.coordinator_a and event.reason == "weight from the ward chart"
    assert event.before["weight_kg"] != event.after["weight_kg"]


def test_nothing_changed_writes_nothing(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    record, data = recorded(client, world)
    response = client.post(correct_url(record), {**data, "reason": "checking"}, follow=True)
    assert "Nothing was changed." in response.content.decode()
    assert not AuditEvent.objects.filter(action="update", object_type="trials.dosingrecord").exists()


def test_refusals_keep_the_input_and_write_nothing(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    record, data = recorded(client, world)
    response = client.post(correct_url(record), {**data, "weight_kg": "30"})  # no reason
    text = response.content.decode()
    assert response.status_code == 400 and 'id="id_reason_error"' in text and 'value="30"' in text
    future = (timezone.localtime() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(correct_url(record), {**data, "administered_at": future, "reason": "typo"})
    text = response.content.decode()
    assert response.status_code == 400 and "The administration time is in the future." in text and 'value="typo"' in text
    record.refresh_from_db()
    assert record.weight_kg == Decimal("20") and record.administered_at < timezone.now()
    assert not AuditEvent.objects.filter(action="update", object_type="trials.dosingrecord").exists()


def test_a_correction_above_the_threshold_raises_one_deviation(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    record, data = recorded(client, world, calibrated_activity_mbq="40", administered_activity_mbq="40")
    assert record.deviation_percent < world.trial.deviation_threshold_percent and not ProtocolDeviation.objects.exists()
    high = {**data, "calibrated_activity_mbq": "900", "administered_activity_mbq": "900", "reason": "activity misread"}
    assert client.post(correct_url(record), high).status_code == 302
    assert client.post(correct_url(record), {**high, "weight_kg": "19", "reason": "weight misread"}).status_code == 302
    deviation = ProtocolDeviation.objects.get()
    assert deviation.dosing_record_id == record.pk and deviation.kind == ProtocolDeviation.Kind.DOSE_ABOVE_THRESHOLD


def test_who_may_correct(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    record, data = recorded(client, world)
    client.force_login(actors.monitor_a)  # reads the subject, does not dose
    assert 'data-testid="dose-correct-link"' not in client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
    assert client.get(correct_url(record)).status_code == 403
    assert client.post(correct_url(record), {**data, "weight_kg": "30", "reason": "x"}).status_code == 403
    client.force_login(actors.coordinator_b)  # another hospital
    assert client.get(correct_url(record)).status_code == 404
    record.refresh_from_db()
    assert record.weight_kg == Decimal("20")


def test_correction_page_in_chinese(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    record, data = recorded(client, world)
    client.cookies["django_language"] = "zh-hans"
    text = client.get(correct_url(record)).content.decode()
    assert "的一次给药剂量" in text and "保存更正" in text and "Correct a dose" not in text and "Save the correction" not in text
