"""Trial pages: recording a visit (done, missed, outside its window), reviewing a protocol deviation, and data queries
raised on a visit or a dose from the subject page."""
import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from conftest import PASSWORD, Actors, api_client
from registry.models import AuditEvent
from trials.models import DosingRecord, ProtocolDeviation, Subject, SubjectVisit
from trials.oversight.models import DataQuery, Signature
from trials.oversight.services.signatures import signature_sign
from trials.tests.test_web_fixtures import World, world  # noqa: F401 (fixture)
from trials.tests.test_web_trials import dose

pytestmark = pytest.mark.django_db


def visit(world: World, code: str, subject: Subject | None = None) -> SubjectVisit:  # noqa: F811
    return SubjectVisit.objects.get(subject=subject or world.subject_a, definition__code=code)


def record_url(v: SubjectVisit) -> str:
    return reverse("web-visit-record", args=[v.pk])


def test_coordinator_records_a_visit_done_then_another_missed(client, actors: Actors, world: World) -> None:  # noqa: F811
    scr, w4 = visit(world, "SCR"), visit(world, "W4")
    client.force_login(actors.coordinator_a)
    page = client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
    assert f'href="{record_url(scr)}"' in page and f'href="{record_url(w4)}"' in page
    form = client.get(record_url(scr))
    assert form.status_code == 200 and 'data-testid="visit-record-form"' in form.content.decode()
    response = client.post(record_url(scr), {"status": "done", "done_on": scr.target_date.isoformat(), "reason": ""}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("web-subject-detail", args=[world.subject_a.pk])
    assert "Visit SCR recorded: Done." in response.content.decode()
    scr.refresh_from_db()
    assert scr.status == SubjectVisit.Status.DONE and scr.done_on == scr.target_date
    assert AuditEvent.objects.filter(action="record", object_type="trials.subjectvisit", object_id=str(scr.pk),
                                     actor=actors.coordinator_a).count() == 1
    assert client.post(record_url(w4), {"status": "missed", "done_on": "", "reason": ""}).status_code == 302
    w4.refresh_from_db()
    assert w4.status == SubjectVisit.Status.MISSED and w4.done_on is None
    assert not ProtocolDeviation.objects.exists()
    # Recorded visits are offered for correction ("Change"), which needs a reason.
    page = client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
    assert "Change" in page
    assert 'data-testid="visit-recorded-note"' in client.get(record_url(scr)).content.decode()


def test_visit_done_outside_its_window_raises_a_deviation(client, actors: Actors, world: World) -> None:  # noqa: F811
    w4 = visit(world, "W4")  # four weeks after enrolment, three days either side: today is before its window
    client.force_login(actors.investigator_a)
    today = timezone.localdate()
    response = client.post(record_url(w4), {"status": "done", "done_on": today.isoformat(), "reason": "",
                                            "out_of_window_reason": "Family could only come today."}, follow=True)
    text = response.content.decode()
    assert response.status_code == 200 and "outside its window" in text and "a protocol deviation was raised for review" in text
    deviation = ProtocolDeviation.objects.get()
    assert deviation.subject_visit_id == w4.pk and deviation.kind == ProtocolDeviation.Kind.VISIT_OUT_OF_WINDOW
    assert 'data-testid="visit-deviation"' in text and f'data-testid="deviation-{deviation.pk}"' in text
    assert AuditEvent.objects.filter(action="create", object_type="trials.protocoldeviation", object_id=str(deviation.pk)).exists()


def test_visit_refusals_are_shown_with_the_input_kept_and_nothing_written(client, actors: Actors, world: World) -> None:  # noqa: F811
    scr = visit(world, "SCR")
    client.force_login(actors.coordinator_a)
    response = client.post(record_url(scr), {"status": "done", "done_on": "2099-01-01", "reason": "typed"})
    text = response.content.decode()
    assert response.status_code == 400 and "The visit date is in the future." in text
    assert 'value="2099-01-01"' in text and 'value="typed"' in text
    scr.refresh_from_db()
    assert scr.status == SubjectVisit.Status.SCHEDULED and not AuditEvent.objects.filter(action="record").exists()
    # Already recorded: the service asks for a reason, shown next to the field.
    assert client.post(record_url(scr), {"status": "done", "done_on": scr.target_date.isoformat()}).status_code == 302
    response = client.post(record_url(scr), {"status": "missed", "done_on": "", "reason": "  "})
    text = response.content.decode()
    assert response.status_code == 400 and "This visit was already recorded; a reason is required to change it." in text
    assert 'id="id_reason_error"' in text and '<option value="missed" selected>' in text
    scr.refresh_from_db()
    assert scr.status == SubjectVisit.Status.DONE
    assert client.post(record_url(scr), {"status": "missed", "done_on": "", "reason": "the visit did not happen"}).status_code == 302
    scr.refresh_from_db()
    assert scr.status == SubjectVisit.Status.MISSED
    assert AuditEvent.objects.filter(action="record", object_id=str(scr.pk), reason="the visit did not happen").exists()


def test_signed_casebook_needs_a_reason_to_record_a_visit(client, actors: Actors, world: World) -> None:  # noqa: F811
    signature_sign(actor=actors.investigator_a, content_type=ContentType.objects.get_for_model(Subject), object_id=world.subject_a.pk,
                   meaning=Signature.Meaning.CASEBOOK_APPROVED, password=PASSWORD)
    scr = visit(world, "SCR")
    client.force_login(actors.coordinator_a)
    response = client.post(record_url(scr), {"status": "done", "done_on": scr.target_date.isoformat(), "reason": ""})
    assert response.status_code == 400 and "Required: the record is signed." in response.content.decode()
    assert Signature.objects.get().status == Signature.Status.VALID
    response = client.post(record_url(scr), {"status": "done", "done_on": scr.target_date.isoformat(), "reason": "entered late"})
    assert response.status_code == 302 and Signature.objects.get().status == Signature.Status.VOIDED


@pytest.mark.parametrize("name, status", [("monitor_a", 403), ("sponsor", 403), ("trial_monitor", 403), ("coordinator_b", 404),
                                          ("nobody", 404)])
def test_visit_recording_refused_to_readers_and_outsiders(client, actors: Actors, world: World, name: str, status: int) -> None:  # noqa: F811
    scr = visit(world, "SCR")
    client.force_login(actors.by_name(name))
    if status == 403:
        page = client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
        assert 'data-testid="visit-record-link"' not in page
    assert client.get(record_url(scr)).status_code == status
    assert client.post(record_url(scr), {"status": "done", "done_on": scr.target_date.isoformat(), "reason": "x"}).status_code == status
    scr.refresh_from_db()
    assert scr.status == SubjectVisit.Status.SCHEDULED and scr.done_on is None
    assert not AuditEvent.objects.filter(action="record").exists()


def _deviation(client, actors: Actors, world: World) -> ProtocolDeviation:  # type: ignore[no-untyped-def]  # noqa: F811
    client.force_login(actors.coordinator_a)
    client.post(record_url(visit(world, "W4")), {"status": "done", "done_on": timezone.localdate().isoformat(), "reason": "",
                                                 "out_of_window_reason": "Family could only come today."})
    return ProtocolDeviation.objects.get()


def test_investigator_reviews_a_deviation_on_the_subject_page(client, actors: Actors, world: World) -> None:  # noqa: F811
    deviation = _deviation(client, actors, world)
    url = reverse("web-deviation-review", args=[deviation.pk])
    # The coordinator records visits but does not review deviations.
    assert 'data-testid="deviation-review-form"' not in client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
    assert client.post(url, {f"deviation-{deviation.pk}-review_note": "x"}).status_code == 403
    client.force_login(actors.investigator_a)
    page = client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
    assert 'data-testid="deviation-review-form"' in page
    response = client.post(url, {f"deviation-{deviation.pk}-review_note": " ", f"deviation-{deviation.pk}-reason": "kept"})
    text = response.content.decode()
    assert response.status_code == 400 and "Say what the review found." in text and 'value="kept"' in text
    deviation.refresh_from_db()
    assert deviation.status == ProtocolDeviation.Status.OPEN
    response = client.post(url, {f"deviation-{deviation.pk}-review_note": "Parent travelled; no safety impact."}, follow=True)
    assert "Protocol deviation reviewed." in response.content.decode() and "Parent travelled; no safety impact." in response.content.decode()
    deviation.refresh_from_db()
    assert deviation.status == ProtocolDeviation.Status.REVIEWED and deviation.reviewed_by == actors.investigator_a
    assert AuditEvent.objects.filter(action="review", object_type="trials.protocoldeviation", object_id=str(deviation.pk)).exists()
    # Reviewed: no form any more; a second review is the service's refusal.
    assert 'data-testid="deviation-review-form"' not in response.content.decode()
    response = client.post(url, {f"deviation-{deviation.pk}-review_note": "again"})
    assert response.status_code == 400 and "This deviation has already been reviewed." in response.content.decode()


@pytest.mark.parametrize("name, status", [("monitor_a", 403), ("sponsor", 403), ("coordinator_b", 404)])
def test_deviation_review_refused(client, actors: Actors, world: World, name: str, status: int) -> None:  # noqa: F811
    deviation = _deviation(client, actors, world)
    client.force_login(actors.by_name(name))
    response = client.post(reverse("web-deviation-review", args=[deviation.pk]), {f"deviation-{deviation.pk}-review_note": "seen"})
    assert response.status_code == status
    deviation.refresh_from_db()
    assert deviation.status == ProtocolDeviation.Status.OPEN and not AuditEvent.objects.filter(action="review").exists()


def test_monitor_raises_queries_on_a_visit_and_a_dose(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    assert client.post(reverse("web-dosing-create", args=[world.subject_a.pk]), dose()).status_code == 302
    record = DosingRecord.objects.get()
    scr = visit(world, "SCR")
    visit_url, dose_url = reverse("web-visit-query-raise", args=[scr.pk]), reverse("web-dose-query-raise", args=[record.pk])
    # The site answers queries, it does not raise them.
    page = client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
    assert 'data-testid="visit-query-link"' not in page and 'data-testid="dose-query-link"' not in page
    assert client.get(visit_url).status_code == 403 and client.post(dose_url, {"field_name": "weight_kg", "text": "x"}).status_code == 403

    client.force_login(actors.monitor_a)
    page = client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
    assert f'href="{visit_url}"' in page and f'href="{dose_url}"' in page
    assert f"Visit SCR of {world.subject_a.subject_number}" in client.get(visit_url).content.decode()
    response = client.post(visit_url, {"field_name": "done_on", "text": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode() and not DataQuery.objects.exists()
    response = client.post(visit_url, {"field_name": "done_on", "text": "Source document for the visit date?"})
    query = DataQuery.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web-query-detail", args=[query.pk])
    assert query.content_type == ContentType.objects.get_for_model(SubjectVisit) and query.object_id == scr.pk
    assert query.hospital_id == actors.hospital_a.pk and query.trial_id == world.trial.pk
    assert AuditEvent.objects.filter(action="raise_query", object_id=str(query.pk)).exists()

    client.force_login(actors.trial_monitor)
    assert client.post(dose_url, {"field_name": "weight_kg", "text": "Weight from the day of dosing?"}).status_code == 302
    dose_query = DataQuery.objects.get(content_type=ContentType.objects.get_for_model(DosingRecord))
    assert dose_query.object_id == record.pk and dose_query.field_name == "weight_kg"

    # The site sees both on the subject page and in the query list, labelled by record.
    client.force_login(actors.coordinator_a)
    page = client.get(reverse("web-subject-detail", args=[world.subject_a.pk])).content.decode()
    assert reverse("web-query-detail", args=[query.pk]) in page and reverse("web-query-detail", args=[dose_query.pk]) in page
    listing = client.get(reverse("web-query-list")).content.decode()
    assert f"Visit SCR of {world.subject_a.subject_number}" in listing and f", {world.subject_a.subject_number}" in listing


@pytest.mark.parametrize("name, status", [("sponsor", 403), ("coordinator_b", 404), ("central_reader", 404)])
def test_queries_on_visits_refused(client, actors: Actors, world: World, name: str, status: int) -> None:  # noqa: F811
    scr = visit(world, "SCR")
    client.force_login(actors.by_name(name))
    url = reverse("web-visit-query-raise", args=[scr.pk])
    assert client.post(url, {"field_name": "done_on", "text": "x"}).status_code == status
    assert not DataQuery.objects.exists()


def test_visit_page_in_chinese(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    client.cookies["django_language"] = "zh-hans"
    text = client.get(record_url(visit(world, "SCR"))).content.decode()
    assert "保存访视" in text and "Save the visit" not in text


def test_a_visit_outside_its_window_needs_a_reason_which_is_kept(client, actors: Actors, world: World) -> None:  # noqa: F811
    """Issue 17: a date outside the window is warned about on the page, refused without a reason (input kept, nothing
    written), and recorded with it: the reason stays on the visit, in the audit event and in the deviation."""
    w4 = visit(world, "W4")  # today is before its window
    client.force_login(actors.coordinator_a)
    today = timezone.localdate().isoformat()
    page = client.get(record_url(w4)).content.decode()
    assert 'data-testid="out-of-window-warning"' in page and f'data-window-start="{w4.window_start.isoformat()}"' in page
    response = client.post(record_url(w4), {"status": "done", "done_on": today, "reason": ""})
    text = response.content.decode()
    assert response.status_code == 400 and "is outside the visit window" in text
    assert "Required: the date is outside the visit window." in text and f'value="{today}"' in text
    assert 'data-testid="out-of-window-warning" hidden' not in text  # the warning is shown with the refusal
    w4.refresh_from_db()
    assert w4.status == SubjectVisit.Status.SCHEDULED and not ProtocolDeviation.objects.exists()
    response = client.post(record_url(w4), {"status": "done", "done_on": today, "reason": "", "out_of_window_reason": "Scanner down in week 4."})
    assert response.status_code == 302
    w4.refresh_from_db()
    assert w4.status == SubjectVisit.Status.DONE and w4.out_of_window_reason == "Scanner down in week 4."
    event = AuditEvent.objects.get(action="record", object_type="trials.subjectvisit", object_id=str(w4.pk))
    assert event.after["out_of_window_reason"] == "Scanner down in week 4."
    assert "Reason given: Scanner down in week 4." in ProtocolDeviation.objects.get(subject_visit=w4).description


def test_a_visit_inside_its_window_keeps_no_reason(client, actors: Actors, world: World) -> None:  # noqa: F811
    scr = visit(world, "SCR")
    client.force_login(actors.coordinator_a)
    page = client.get(record_url(scr)).content.decode()
    assert 'data-testid="out-of-window-warning" hidden' in page  # the window is open today: no warning yet
    client.post(record_url(scr), {"status": "done", "done_on": scr.target_date.isoformat(), "reason": "", "out_of_window_reason": "not needed"})
    scr.refresh_from_db()
    assert scr.status == SubjectVisit.Status.DONE and scr.out_of_window_reason == ""


def test_the_api_refuses_an_out_of_window_visit_without_its_reason(actors: Actors, world: World) -> None:  # noqa: F811
    w4 = visit(world, "W4")
    url = reverse("subject-visit-record", args=[w4.pk])
    body = {"status": "done", "done_on": timezone.localdate().isoformat()}
    response = api_client(actors.coordinator_a).post(url, body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "out_of_window_reason_required"
    response = api_client(actors.coordinator_a).post(url, {**body, "out_of_window_reason": "Scanner down."}, format="json")
    assert response.status_code == 200 and response.json()["out_of_window_reason"] == "Scanner down."


def test_the_out_of_window_refusal_in_chinese(client, actors: Actors, world: World) -> None:  # noqa: F811
    w4 = visit(world, "W4")
    client.force_login(actors.coordinator_a)
    client.cookies["django_language"] = "zh-hans"
    text = client.post(record_url(w4), {"status": "done", "done_on": timezone.localdate().isoformat(), "reason": ""}).content.decode()
    assert "必填：日期超出访视时间窗。" in text and "outside the visit window" not in text
