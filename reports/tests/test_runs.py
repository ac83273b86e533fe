"""ReportRun through the API and the task: request, progress, failure, idempotency, audited downloads, access."""
import hashlib
import time
from dataclasses import replace

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from conftest import api_client
from registry.models import AuditEvent
from registry.tests.builders import consented_patient
from reports import kinds
from reports.builders.cohort import COHORT
from reports.models import ReportFile, ReportRun
from reports.services import report_run_execute, report_run_request
from reports.tests.helpers import AS_OF, generate, make_cohort

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/runs/"


@pytest.fixture
def cohort(actors):  # type: ignore[no-untyped-def]
    return make_cohort(actors)


def test_request_list_detail_result_and_audited_download(actors, cohort, eager, django_capture_on_commit_callbacks) -> None:
    client = api_client(actors.investigator_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"kind": "cohort", "params": {"as_of": AS_OF.isoformat()}}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    run_id = response.json()["id"]
    detail = client.get(reverse("report-run-detail", args=[run_id])).json()
    assert detail["status"] == "succeeded" and detail["progress"] == 100 and detail["generated_at"]
    assert detail["params"] == {"as_of": AS_OF.isoformat(), "hospitals": ["AAA"], "diagnosis_from": None, "diagnosis_to": None}
    assert detail["row_counts"]["patients_by_hospital"] == 1
    names = {f["name"] for f in detail["files"]}
    assert {"patients_by_hospital.csv", "cohort.xlsx", "cohort.pdf"} <= names
    result = client.get(reverse("report-run-result", args=[run_id])).json()
    section = next(s for s in result["sections"] if s["key"] == "patients_by_hospital")
    assert section["columns"] == ["hospital", "province", "patients"] and section["rows"][0][0] == "AAA"
    listed = next(f for f in detail["files"] if f["name"] == "patients_by_hospital.csv")
    download = client.get(listed["download_url"])
    body = b"".join(download.streaming_content)
    assert download.status_code == 200 and hashlib.sha256(body).hexdigest() == listed["sha256"] == download["X-Content-SHA256"]
    assert body.startswith(b"hospital,province,patients\nAAA,")
    event = AuditEvent.objects.get(action="report_download")
    assert event.actor == actors.investigator_a and event.after["name"] == "patients_by_hospital.csv"
    assert event.after["sha256"] == listed["sha256"] and event.after["run"] == run_id
    assert AuditEvent.objects.filter(action="report_request", object_id=str(run_id)).exists()
    assert AuditEvent.objects.filter(action="report_generate", object_id=str(run_id)).exists()
    assert client.get(reverse("report-run-download", args=[run_id, "nope.csv"])).json()["code"] == "unknown_file"


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "nonsense"}, "kind"),
    ({"kind": "cohort", "params": {"as_of": "30/06/2023"}}, "as_of"),
    ({"kind": "cohort", "params": {"as_of": "2999-01-01"}}, "as_of"),
    ({"kind": "cohort", "params": {"colour": "blue"}}, "colour"),
    ({"kind": "cohort", "params": {"hospitals": "AAA"}}, "hospitals"),
    ({"kind": "cohort", "params": {"diagnosis_from": "2022-01-01", "diagnosis_to": "2021-01-01"}}, "diagnosis_from"),
    ({"kind": "trial", "params": {}}, "trial"),
])
def test_bad_parameters_are_400_with_code_and_detail(actors, body, field) -> None:
    response = api_client(actors.data_manager).post(URL, body, format="json")
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] in ("invalid", "invalid_parameter", "unknown_report_kind") and payload["detail"]
    assert field in payload["fields"]
    assert not ReportRun.objects.exists()


def test_failed_run_keeps_its_error_and_no_file(actors, cohort, eager, monkeypatch, django_capture_on_commit_callbacks) -> None:
    def broken(user, params, progress):  # type: ignore[no-untyped-def]
        progress(30)
        raise RuntimeError("survival fit diverged")

    monkeypatch.setitem(kinds._kinds, "cohort", replace(COHORT, build=broken))
    with django_capture_on_commit_callbacks(execute=True):
        run = report_run_request(actor=actors.data_manager, kind="cohort", params={})
    run.refresh_from_db()
    assert run.status == "failed" and "survival fit diverged" in run.error and run.result is None
    assert not run.files.exists()
    client = api_client(actors.data_manager)
    assert client.get(reverse("report-run-result", args=[run.pk])).json()["code"] == "report_not_ready"


def test_a_failure_after_files_were_stored_leaves_no_file(actors, cohort, eager, monkeypatch, django_capture_on_commit_callbacks) -> None:
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("database went away")

    monkeypatch.setattr(ReportFile.objects, "bulk_create", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        run = report_run_request(actor=actors.data_manager, kind="cohort", params={"as_of": AS_OF.isoformat()})
    run.refresh_from_db()
    assert run.status == "failed" and "database went away" in run.error
    # Test media outlives the test database (run ids repeat between tests): look for this run's own file names.
    for name in ("patients_by_hospital.csv", "survival_at_months.csv", "cohort.xlsx", "cohort.pdf"):
        assert not default_storage.exists(f"reports/{run.pk}/{name}")
    assert not ReportFile.objects.filter(run=run).exists()


def test_progress_is_saved_while_running_and_a_second_delivery_does_nothing(actors, cohort, eager, monkeypatch,
                                                                            django_capture_on_commit_callbacks) -> None:
    seen = []

    def watched(user, params, progress):  # type: ignore[no-untyped-def]
        progress(40)
        seen.append(ReportRun.objects.values_list("status", "progress").get())
        return COHORT.build(user, params, progress)

    monkeypatch.setitem(kinds._kinds, "cohort", replace(COHORT, build=watched))
    run = generate(actors.data_manager, "cohort", {"as_of": AS_OF.isoformat()}, django_capture_on_commit_callbacks)
    assert seen == [("running", 40)]
    files = {f.name: f.sha256 for f in run.files.all()}
    assert report_run_execute(run_id=run.pk) is None  # redelivered message: the run is not pending any more
    run.refresh_from_db()
    assert run.attempts == 1 and {f.name: f.sha256 for f in run.files.all()} == files


def test_run_list_queries_do_not_grow(actors, django_assert_max_num_queries) -> None:
    client = api_client(actors.data_manager)

    def make(n: int) -> None:
        for _ in range(n):
            run = ReportRun.objects.create(kind="cohort", params={}, requested_by=actors.data_manager, status="succeeded")
            for name in ("a.csv", "b.csv"):
                ReportFile.objects.create(run=run, name=name, format="csv", storage_key=f"reports/{run.pk}/{name}", size=1,
                                          sha256="0" * 64)

    make(2)
    client.get(URL)  # warm the session
    with django_assert_max_num_queries(12) as small:
        assert client.get(URL).json()["count"] == 2
    make(20)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(URL).json()["count"] == 22


def test_sponsor_cannot_run_or_download_another_trials_report(actors, eager, django_capture_on_commit_callbacks) -> None:
    from reports.tests.trial_helpers import make_trial_world

    theirs = make_trial_world(actors, code="NB-A")
    other = make_trial_world(actors, code="NB-B")
    from trials.models import TrialMembership

    TrialMembership.objects.filter(user=actors.sponsor, trial=other.trial).delete()
    sponsor = api_client(actors.sponsor)
    assert sponsor.post(URL, {"kind": "trial", "params": {"trial": other.trial.pk}}, format="json").status_code == 404
    assert sponsor.post(URL, {"kind": "trial", "params": {"trial": other.trial.code}}, format="json").status_code == 404
    run_b = generate(actors.data_manager, "trial", {"trial": other.trial.pk}, django_capture_on_commit_callbacks)
    assert sponsor.get(reverse("report-run-detail", args=[run_b.pk])).status_code == 404
    assert sponsor.get(reverse("report-run-download", args=[run_b.pk, "trial.xlsx"])).status_code == 404
    assert not AuditEvent.objects.filter(action="report_download").exists()
    with django_capture_on_commit_callbacks(execute=True):
        mine = sponsor.post(URL, {"kind": "trial", "params": {"trial": theirs.trial.code}}, format="json")
    assert mine.status_code == 202
    assert sponsor.get(reverse("report-run-download", args=[mine.json()["id"], "trial.xlsx"])).status_code == 200


def test_coordinator_cohort_counts_only_their_hospital(actors, eager, django_capture_on_commit_callbacks) -> None:
    consented_patient(actors.coordinator_b, actors.hospital_b)
    run = generate(actors.coordinator_b, "cohort", {}, django_capture_on_commit_callbacks)
    assert run.params["hospitals"] == ["BBB"] and run.row_counts["patients_by_hospital"] == 1


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_real_worker_builds_a_run_and_records_a_failure(worker: str, actors, reference_rows) -> None:
    consented_patient(actors.coordinator_a, actors.hospital_a)
    response = api_client(actors.data_manager).post(URL, {"kind": "cohort", "params": {}}, format="json")
    assert response.status_code == 202
    broken = ReportRun.objects.create(kind="cohort", params={"hospitals": ["AAA"]}, requested_by=actors.data_manager)
    from reports.tasks import run_report

    run_report.delay(broken.pk)  # no as_of: the builder fails
    deadline = time.monotonic() + 120
    ids = [response.json()["id"], broken.pk]
    while time.monotonic() < deadline:
        states = dict(ReportRun.objects.filter(pk__in=ids).values_list("pk", "status"))
        if all(s in ("succeeded", "failed") for s in states.values()):
            break
        time.sleep(0.3)
    good, bad = ReportRun.objects.get(pk=ids[0]), ReportRun.objects.get(pk=ids[1])
    assert good.status == "succeeded" and good.progress == 100, good.error
    assert good.files.filter(format="pdf").exists() and good.files.filter(format="csv").count() == len(good.row_counts)
    assert bad.status == "failed" and "as_of" in bad.error and not bad.files.exists()


def test_empty_cohort_and_trial_without_subjects_still_build(actors, eager, django_capture_on_commit_callbacks) -> None:
    from trials.tests.builders import make_trial

    cohort_run = generate(actors.data_manager, "cohort", {"as_of": "2000-01-01"}, django_capture_on_commit_callbacks)
    assert cohort_run.row_counts["patients_by_hospital"] == 0 and cohort_run.row_counts["survival_at_months"] == 0
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NB-E1", randomised=True, arms=(("LOW", 50), ("STD", 100)))
    trial_run = generate(actors.data_manager, "trial", {"trial": trial.pk}, django_capture_on_commit_callbacks)
    assert trial_run.row_counts["dosing_listing"] == 0 and trial_run.row_counts["sae_listing"] == 0
    assert trial_run.row_counts["accrual_by_site"] == 2  # site 01 and the "all" row


def test_stale_pending_runs_are_requeued_once_due(actors, eager, settings, django_capture_on_commit_callbacks) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from registry.tasks import requeue_stale_work

    consented_patient(actors.coordinator_a, actors.hospital_a)
    with django_capture_on_commit_callbacks(execute=False):  # the message is "lost"
        run = report_run_request(actor=actors.data_manager, kind="cohort", params={})
    assert requeue_stale_work.delay().get() == 0  # not stale yet
    ReportRun.objects.filter(pk=run.pk).update(queued_at=timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS + 1))
    assert requeue_stale_work.delay().get() == 1
    run.refresh_from_db()
    assert run.status == "succeeded" and run.files.exists()


def test_a_run_whose_requester_lost_the_role_fails_when_it_executes(actors, eager, django_capture_on_commit_callbacks) -> None:
    """Access is checked again when the run executes, not only when it is queued (issue 13)."""
    from reports.tests.trial_helpers import make_trial_world
    from trials.models import TrialMembership

    world = make_trial_world(actors, code="NB-R")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api_client(actors.sponsor).post(URL, {"kind": "trial", "params": {"trial": world.trial.pk}}, format="json")
    assert response.status_code == 202
    TrialMembership.objects.filter(user=actors.sponsor, trial=world.trial).delete()  # revoked before the worker picks it up
    for callback in queued:
        callback()
    run = ReportRun.objects.get(pk=response.json()["id"])
    assert run.status == "failed" and run.error_code == "access_revoked" and run.attempts == 1
    assert run.error == "Not run: the person who requested it no longer has access to what it covers."
    assert not run.files.exists() and run.result is None
    event = AuditEvent.objects.get(action="work_refused", object_id=str(run.pk))
    assert event.actor == actors.sponsor and event.trial_id == world.trial.pk and event.after["code"] == "access_revoked"
    assert not AuditEvent.objects.filter(action="report_generate", object_id=str(run.pk)).exists()


def test_a_cohort_run_fails_when_its_hospital_is_no_longer_the_requesters(actors, cohort, eager,
                                                                          django_capture_on_commit_callbacks) -> None:
    from registry.models import HospitalMembership

    with django_capture_on_commit_callbacks(execute=False) as queued:
        run = report_run_request(actor=actors.investigator_a, kind="cohort", params={"as_of": AS_OF.isoformat()})
    HospitalMembership.objects.filter(user=actors.investigator_a, hospital=actors.hospital_a).delete()
    for callback in queued:
        callback()
    run.refresh_from_db()
    assert run.status == "failed" and run.error_code == "access_revoked" and not run.files.exists()


def test_the_api_names_why_a_run_failed(actors, cohort, eager, django_capture_on_commit_callbacks) -> None:
    from registry.models import HospitalMembership

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api_client(actors.investigator_a).post(URL, {"kind": "cohort", "params": {}}, format="json")
    HospitalMembership.objects.filter(user=actors.investigator_a, hospital=actors.hospital_a).delete()
    for callback in queued:
        callback()
    detail = api_client(actors.data_manager).get(reverse("report-run-detail", args=[response.json()["id"]])).json()
    assert (detail["status"], detail["error_code"], detail["attempts"]) == ("failed", "access_revoked", 1)
