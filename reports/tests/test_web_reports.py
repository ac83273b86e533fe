"""Report pages: request through the form, watch the run, download through the audited path, see the plots; runs of
another trial are 404 for a sponsor; a refused request keeps the form; the list's queries do not grow with runs."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.models import AuditEvent
from reports.models import ReportRun
from reports.tests.helpers import AS_OF, generate, make_cohort
from reports.tests.trial_helpers import make_trial_world
from trials.models import TrialMembership

pytestmark = pytest.mark.django_db


@pytest.fixture
def worlds(actors):  # type: ignore[no-untyped-def]
    mine, other = make_trial_world(actors, code="NB-A"), make_trial_world(actors, code="NB-B")
    TrialMembership.objects.filter(user=actors.sponsor, trial=other.trial).delete()
    return mine, other


def test_sponsor_requests_a_trial_report_watches_it_downloads_and_sees_plots(client, actors, worlds, eager,
                                                                            django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    mine, other = worlds
    client.force_login(actors.sponsor)
    form = client.get(reverse("web-report-new", args=["trial"]))
    assert form.status_code == 200
    choices = form.context["form"].fields["trial"].choices
    assert [c[0] for c in choices] == [mine.trial.pk]  # the other trial is not even offered
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("web-report-new", args=["trial"]), {"trial": mine.trial.pk, "as_of": "", "language": "zh-hans"})
    run = ReportRun.objects.get()
    assert run.params["language"] == "zh-hans" and run.params["trial"] == mine.trial.pk
    assert response.status_code == 302 and response["Location"] == reverse("web-report-detail", args=[run.pk])
    page = client.get(response["Location"])
    html = page.content.decode()
    assert run.status == "pending" or page.context["run"].status == "succeeded"
    assert 'data-testid="download-xlsx"' in html and 'data-testid="download-pdf"' in html and "hx-trigger" not in html
    assert reverse("web-report-figure", args=[run.pk, "accrual"]) in html  # the PDF's accrual figure, stored as SVG
    assert all(s.patient.study_id not in html for s in mine.subjects)  # sponsors see subject numbers only

    download = client.get(reverse("web-report-download", args=[run.pk, "trial.xlsx"]))
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content)[:2] == b"PK"
    audit = AuditEvent.objects.get(action="report_download")
    assert audit.actor_id == actors.sponsor.pk and audit.after["name"] == "trial.xlsx"

    figure = client.get(reverse("web-report-figure", args=[run.pk, "accrual"]))
    assert figure.status_code == 200 and figure["Content-Type"] == "image/svg+xml" and b"<svg" in figure.content[:400]
    assert client.get(reverse("web-report-figure", args=[run.pk, "no_such_section"])).status_code == 404
    assert client.get(reverse("web-report-download", args=[run.pk, "nothing.csv"])).status_code == 404


def test_runs_of_another_trial_are_not_found_for_a_sponsor(client, actors, worlds, eager,
                                                            django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    mine, other = worlds
    theirs = generate(actors.data_manager, "trial", {"trial": other.trial.pk}, django_capture_on_commit_callbacks)
    client.force_login(actors.sponsor)
    for name, args in (("web-report-detail", [theirs.pk]), ("web-report-progress", [theirs.pk]),
                       ("web-report-download", [theirs.pk, "trial.xlsx"]), ("web-report-figure", [theirs.pk, "accrual"])):
        assert client.get(reverse(name, args=args)).status_code == 404, name
    assert not AuditEvent.objects.filter(action="report_download").exists()
    assert theirs.pk not in [r.pk for r in client.get(reverse("web-report-list")).context["page"].object_list]
    refused = client.post(reverse("web-report-new", args=["trial"]), {"trial": other.trial.pk})
    assert refused.status_code == 400 and "trial" in refused.context["form"].errors
    assert ReportRun.objects.count() == 1


def test_a_refused_request_shows_the_services_message_next_to_the_field_and_keeps_the_input(client, actors) -> None:  # type: ignore[no-untyped-def]
    client.force_login(actors.investigator_a)
    response = client.post(reverse("web-report-new", args=["cohort"]),
                           {"as_of": "2023-06-30", "hospitals": ["AAA"], "diagnosis_from": "2023-01-01", "diagnosis_to": "2022-01-01"})
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["diagnosis_from"] == ["After diagnosis_to."]
    html = response.content.decode()
    assert 'value="2023-01-01"' in html and 'value="2022-01-01"' in html and "is-invalid" in html
    assert not ReportRun.objects.exists()
    assert client.get(reverse("web-report-new", args=["no-such-kind"])).status_code == 404


def test_progress_polls_while_running_and_shows_the_error_when_failed(client, actors) -> None:  # type: ignore[no-untyped-def]
    run = ReportRun.objects.create(kind="cohort", params={"as_of": AS_OF.isoformat()}, requested_by=actors.investigator_a,
                                   status=ReportRun.Status.RUNNING, progress=40)
    client.force_login(actors.investigator_a)
    html = client.get(reverse("web-report-progress", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and 'aria-valuenow="40"' in html
    ReportRun.objects.filter(pk=run.pk).update(status=ReportRun.Status.FAILED, error="No patient matches the parameters.")
    html = client.get(reverse("web-report-progress", args=[run.pk])).content.decode()
    assert "hx-trigger" not in html and "No patient matches the parameters." in html
    client.force_login(actors.coordinator_b)  # another hospital's user does not see the run
    assert client.get(reverse("web-report-detail", args=[run.pk])).status_code == 404


def test_cohort_plots_are_drawn_from_the_result(client, actors, eager, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    make_cohort(actors)
    run = generate(actors.investigator_a, "cohort", {"as_of": AS_OF.isoformat()}, django_capture_on_commit_callbacks)
    client.force_login(actors.investigator_a)
    keys = [k for k, _t in client.get(reverse("web-report-detail", args=[run.pk])).context["figures"]]
    assert "patients_by_inrgss_stage" in keys
    assert b"<svg" in client.get(reverse("web-report-figure", args=[run.pk, "patients_by_inrgss_stage"])).content[:400]


def test_list_queries_do_not_grow_with_runs(client, actors) -> None:  # type: ignore[no-untyped-def]
    def make(n: int) -> None:
        ReportRun.objects.bulk_create([ReportRun(kind="cohort", params={}, requested_by=actors.investigator_a) for _ in range(n)])

    client.force_login(actors.investigator_a)
    make(2)
    client.get(reverse("web-report-list"))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("web-report-list")).status_code == 200
    make(20)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(reverse("web-report-list")).context["page"].object_list) == 22
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_report_pages_speak_chinese(client, actors) -> None:  # type: ignore[no-untyped-def]
    client.force_login(actors.investigator_a)
    assert "申请报告" in client.get(reverse("web-report-list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "截至日期" in client.get(reverse("web-report-new", args=["cohort"]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_a_kind_not_for_the_users_role_says_so_and_records_nothing(client, actors, worlds) -> None:  # type: ignore[no-untyped-def]
    client.force_login(actors.investigator_a)  # sees the trial at its hospital, but trial reports are the sponsor's
    mine, _other = worlds
    response = client.post(reverse("web-report-new", args=["trial"]), {"trial": mine.trial.pk})
    assert response.status_code == 403 and "sponsors and data managers" in response.content.decode()
    assert not ReportRun.objects.exists()
