"""Trial pages with the test client: list, overview, screening, enrolment, subject page, dosing preview and save."""
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import PASSWORD, Actors
from registry.tests.builders import make_patient
from trials.models import DosingRecord, ScreeningRecord, Subject
from trials.oversight.models import Signature
from trials.oversight.services.signatures import signature_sign
from trials.tests.builders import make_trial, make_trial_consent, ready_patient
from trials.tests.test_web_fixtures import World, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_trial_list_shows_the_users_trials_only(client, actors: Actors, world: World, django_assert_max_num_queries) -> None:  # noqa: F811
    make_trial(actors.data_manager, [actors.hospital_b], code="NB-BONLY")
    client.force_login(actors.coordinator_a)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("web-trial-list"))
    text = page.content.decode()
    assert page.status_code == 200 and "NB-T1" in text and "NB-BONLY" not in text
    client.force_login(actors.nobody)
    assert "NB-T1" not in client.get(reverse("web-trial-list")).content.decode()


def test_trial_overview_sites_chart_arms_and_scope(client, actors: Actors, world: World) -> None:  # noqa: F811
    other = make_trial(actors.data_manager, [actors.hospital_b], code="NB-BONLY")
    client.force_login(actors.coordinator_a)
    page = client.get(reverse("web-trial-detail", args=[world.trial.pk]))
    text = page.content.decode()
    assert 'data-testid="accrual-chart"' in text and "<polyline" in text
    assert "2 enrolled of a target of 40." in text
    assert "Arm A" in text and "AAA" in text and "BBB" in text  # both sites listed
    # Hospital A staff see their own patient's study ID, never hospital B's.
    assert world.subject_a.patient.study_id in text and world.subject_b.patient.study_id not in text
    assert client.get(reverse("web-trial-detail", args=[other.pk])).status_code == 404


def test_sponsor_pages_show_subject_numbers_and_no_study_id(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.sponsor)
    ids = [world.subject_a.patient.study_id, world.subject_b.patient.study_id]
    for url in (reverse("web-trial-detail", args=[world.trial.pk]), reverse("web-subject-detail", args=[world.subject_a.pk]),
                reverse("web-ae-detail", args=[world.event_a.pk]), reverse("web-screening-log", args=[world.trial.pk])):
        page = client.get(url)
        text = page.content.decode()
        assert page.status_code == 200, url
        assert not any(i in text for i in ids), url
    assert world.subject_a.subject_number in client.get(reverse("web-trial-detail", args=[world.trial.pk])).content.decode()
    # No screening or enrolment for a sponsor.
    assert "Your role does not enrol" in client.get(reverse("web-enrol", args=[world.trial.pk])).content.decode()


def _screening_post(trial, site, study_id: str, failing: tuple[str, ...] = ()) -> dict:  # type: ignore[no-untyped-def]
    data = {"site": site.pk, "patient": study_id, "screened_on": "2026-06-10", "notes": ""}
    for criterion in trial.protocol_versions.first().criteria.all():
        passes = criterion.label not in failing
        met = passes if criterion.kind == "inclusion" else not passes
        data[f"criterion_{criterion.pk}"] = "yes" if met else "no"
    return data


def test_screening_checklist_and_screen_failure_lists_failed_criteria(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    url = reverse("web-screening-create", args=[world.trial.pk])
    text = client.get(url).content.decode()
    assert "I1 (Inclusion): Neuroblastoma" in text and "E1 (Exclusion): Pregnancy" in text and "protocol version 1.0" in text
    patient = make_patient(actors.coordinator_a, actors.hospital_a)
    site = world.trial.sites.get(hospital=actors.hospital_a)
    response = client.post(url, _screening_post(world.trial, site, patient.study_id, failing=("I2", "E1")), follow=True)
    assert "Screen failure. Failed criteria: I2, E1." in response.content.decode()
    record = ScreeningRecord.objects.get(patient=patient)
    assert record.failed_criteria == ["I2", "E1"]
    log = client.get(reverse("web-screening-log", args=[world.trial.pk])).content.decode()
    assert "Screen failure" in log and patient.study_id in log


def test_screening_refusals_keep_the_input(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    url = reverse("web-screening-create", args=[world.trial.pk])
    site = world.trial.sites.get(hospital=actors.hospital_a)
    b_patient = make_patient(actors.coordinator_b, actors.hospital_b)
    response = client.post(url, _screening_post(world.trial, site, b_patient.study_id))
    assert response.status_code == 400
    assert "No patient with this study ID" in response.content.decode() and b_patient.study_id in response.content.decode()
    patient = make_patient(actors.coordinator_a, actors.hospital_a)
    data = _screening_post(world.trial, site, patient.study_id)
    data["screened_on"] = "2099-01-01"
    response = client.post(url, data)
    assert response.status_code == 400 and "The screening date is in the future." in response.content.decode()
    assert 'value="2099-01-01"' in response.content.decode()
    assert not ScreeningRecord.objects.filter(patient=patient).exists()


def test_enrolment_refusal_is_shown_and_success_shows_the_allocation(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    url = reverse("web-enrol", args=[world.trial.pk])
    site = world.trial.sites.get(hospital=actors.hospital_a)
    unscreened = make_patient(actors.coordinator_a, actors.hospital_a)
    make_trial_consent(actors.coordinator_a, unscreened, world.trial)
    response = client.post(url, {"site": site.pk, "patient": unscreened.study_id})
    assert response.status_code == 400
    assert "Cannot enrol: the patient has not been screened for this trial at this site." in response.content.decode()
    ready = ready_patient(actors.coordinator_a, world.trial, actors.hospital_a)
    response = client.post(url, {"site": site.pk, "patient": ready.study_id}, follow=True)
    subject = Subject.objects.get(patient=ready)
    assert response.redirect_chain[-1][0] == reverse("web-subject-detail", args=[subject.pk])
    assert f"Enrolled as {subject.subject_number} in arm A." in response.content.decode()


def test_randomised_blinded_enrolment_conceals_the_arm(client, actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NB-RB", randomised=True, blinded=True,
                       arms=(("A", 100), ("B", 50)))
    client.force_login(actors.coordinator_a)
    url = reverse("web-enrol", args=[trial.pk])
    assert 'name="arm"' not in client.get(url).content.decode()  # allocated, never chosen
    patient = ready_patient(actors.coordinator_a, trial, actors.hospital_a)
    response = client.post(url, {"site": trial.sites.get().pk, "patient": patient.study_id}, follow=True)
    text = response.content.decode()
    assert "The allocation is blinded." in text
    subject = Subject.objects.get(patient=patient)
    assert subject.arm_id is not None and f"Arm {subject.arm.code}" not in text
    assert 'data-testid="subject-arm">blinded<' in text


def test_subject_page_visit_schedule_and_scope(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    text = client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
    assert "SCR" in text and "W4" in text and "from the first dose" in text and "Scheduled" in text
    assert client.get(reverse("web-subject-detail", args=[world.subject_b.pk])).status_code == 404
    assert client.get(reverse("web-ae-detail", args=[world.event_b.pk])).status_code == 404
    assert client.get(reverse("web-ae-create", args=[world.subject_b.pk])).status_code == 404
    assert client.post(reverse("web-dosing-preview", args=[world.subject_b.pk]), {}).status_code == 404


def dose(**overrides: str) -> dict:
    # The fixture's subjects were enrolled two hours ago: a dose an hour ago, in local time as the browser sends it.
    at = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    data = {"lot_number": "L1", "calibrated_activity_mbq": "120", "calibrated_at": at,
            "administered_activity_mbq": "120", "administered_at": at, "residual_activity_mbq": "0",
            "route": "iv", "weight_kg": "20", "reason": ""}
    data.update(overrides)
    return data


def test_dosing_preview_computes_without_saving(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    url = reverse("web-dosing-preview", args=[world.subject_a.pk])
    response = client.post(url, dose(), HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200 and 'data-testid="preview-recommended"' in text and "MBq" in text
    assert 'data-testid="preview-deviation"' in text
    high = client.post(url, dose(calibrated_activity_mbq="900", administered_activity_mbq="900")).content.decode()
    assert "saving raises a protocol deviation" in high
    assert "Fill in the activities" in client.post(url, dose(weight_kg="")).content.decode()
    assert not DosingRecord.objects.exists()


def test_dosing_save_and_reason_on_a_signed_casebook(client, actors: Actors, world: World) -> None:  # noqa: F811
    from django.contrib.contenttypes.models import ContentType

    signature_sign(actor=actors.investigator_a, content_type=ContentType.objects.get_for_model(Subject), object_id=world.subject_a.pk,
                   meaning=Signature.Meaning.CASEBOOK_APPROVED, password=PASSWORD)
    client.force_login(actors.coordinator_a)
    url = reverse("web-dosing-create", args=[world.subject_a.pk])
    response = client.post(url, dose())
    assert response.status_code == 400 and "Required: the record is signed." in response.content.decode()
    assert 'value="L1"' in response.content.decode() and not DosingRecord.objects.exists()
    response = client.post(url, dose(reason="dose entered late"))
    assert response.status_code == 302
    assert DosingRecord.objects.get().recommended_activity_mbq is not None
    assert Signature.objects.get().status == Signature.Status.VOIDED


def test_monitor_may_read_but_not_dose(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.monitor_a)
    text = client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
    assert 'data-testid="dosing-form"' not in text
    response = client.post(reverse("web-dosing-create", args=[world.subject_a.pk]), dose())
    assert response.status_code == 400 and "This subject is not one you may record doses for." in response.content.decode()
    assert date.today() and not DosingRecord.objects.exists()


def test_pages_in_chinese(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    client.cookies["django_language"] = "zh-hans"
    text = client.get(reverse("web-trial-detail", args=[world.trial.pk])).content.decode()
    assert "入组进度" in text and "筛选日志" in text and "Screening log" not in text
