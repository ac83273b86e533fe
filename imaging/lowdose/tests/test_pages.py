"""The low-dose evaluation pages: protocols (list, define), a protocol's pairs, pairing forms, a pair's metrics, retry.

Most tests build rows directly (a pair with stored metrics needs no pixels to be shown); one test finds and evaluates a
pair through the page on a small synthetic PET study (test_evaluation's fixture), end to end.
"""
import itertools
import re
from datetime import date
from pathlib import Path

import pytest
from django.template.defaultfilters import floatformat
from django.test import Client
from django.urls import reverse

from conftest import Actors
from imaging.lowdose import reader_study
from imaging.lowdose.models import EvaluationPair, EvaluationProtocol, PairMetrics
from imaging.lowdose.services import protocol_create
from imaging.lowdose.tests.test_evaluation import study  # noqa: F401  (fixture: a synthetic PET study, analysed)
from imaging.lowdose.tests.test_reader_study import _create, _score_everything
from imaging.lowdose.tests.test_reader_study import world as reader_world  # noqa: F401  (fixture: six scored children)
from imaging.models import ImagingStudy, Series
from imaging.reading.models import ReadingSession
from registry.access import HospitalRole
from registry.models import AuditEvent
from registry.tests.builders import consented_patient
from registry.tests.factories import HospitalFactory, MembershipFactory, UserFactory
from tests.test_view_inputs import violations

pytestmark = pytest.mark.django_db
_uids = itertools.count(1)
CRITERIA = [{"metric": "voi_suv_max_bias_percent", "max_abs": 10}, {"metric": "ssim", "min": 0.9}]


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _pet_study(actors: Actors, hospital=None) -> tuple[ImagingStudy, list[Series]]:  # type: ignore[no-untyped-def]
    hospital = hospital or actors.hospital_a
    coordinator = actors.coordinator_a if hospital == actors.hospital_a else actors.coordinator_b
    patient = consented_patient(coordinator, hospital, sex="F", birth_date=date(2019, 3, 15), diagnosis_date=date(2020, 9, 15))
    n = next(_uids)
    made = ImagingStudy.objects.create(patient=patient, study_uid=f"2.25.91{n}", study_date=date(2020, 9, 20), tracer="F18_FDG",
                                        modality_group="pet_ct", status=ImagingStudy.Status.READY)
    series = [Series.objects.create(study=made, series_uid=f"2.25.91{n}0{k}", modality="PT", series_number=k, number_of_instances=0,
                                    pipeline_state=Series.PipelineState.DONE) for k in (1, 2, 3)]
    return made, series


def _metrics(pair: EvaluationPair, *, ssim: float = 0.93) -> PairMetrics:
    vois = [{"voi": 1, "label": "left adrenal", "reference": {"suv_max": 8.0, "suv_mean": 5.0, "suv_peak": 6.5},
             "test": {"suv_max": 8.8, "suv_mean": 5.1, "suv_peak": 6.6},
             "bias_percent": {"suv_max": 10.0, "suv_mean": 2.0, "suv_peak": 1.538}}]
    criteria = [{**CRITERIA[0], "met": False, "value": 10.0}, {**CRITERIA[1], "met": ssim >= 0.9, "value": ssim}]
    return PairMetrics.objects.create(pair=pair, grid="same grid", n_voxels=4096, nrmse=0.1234, psnr_db=31.5, ssim=ssim,
                                      suv_max_bias_percent=-3.25, liver_snr_reference=9.5, liver_snr_test=4.25,
                                      liver_cv_reference=0.105, liver_cv_test=0.235, vois=vois, criteria=criteria,
                                      method_version="similarity-1.0+voi-2.0")


def _pair(actors: Actors, protocol: EvaluationProtocol, reference: Series, test: Series, status: str = "succeeded",
          **extra) -> EvaluationPair:  # type: ignore[no-untyped-def]
    return EvaluationPair.objects.create(protocol=protocol, reference=reference, test=test, source="manual", status=status,
                                         requested_by=actors.data_manager, **extra)


@pytest.fixture
def protocol(actors: Actors) -> EvaluationProtocol:
    return protocol_create(actor=actors.data_manager, name="one sixth vs standard", test_role="low_activity",
                           acceptance_criteria=CRITERIA)


@pytest.fixture
def pairs(actors: Actors, protocol: EvaluationProtocol) -> dict[str, EvaluationPair]:
    _study, series = _pet_study(actors)
    done = _pair(actors, protocol, series[0], series[1], progress=100)
    _metrics(done)
    failed = _pair(actors, protocol, series[0], series[2], status="failed", error="The two series do not share a frame of reference.")
    return {"done": done, "failed": failed}


def _more_pairs(actors: Actors, protocol: EvaluationProtocol, count: int) -> None:
    for _ in range(count):
        _study, series = _pet_study(actors)
        _metrics(_pair(actors, protocol, series[0], series[1]), ssim=0.5)


# --- Pages: 200 for a data manager, with pinned query counts (and no query per row) ---------------------------------

def test_protocol_list(actors: Actors, protocol, pairs, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    protocol_create(actor=actors.data_manager, name="3 min vs standard", test_role="short_scan")
    client = _client(actors.data_manager)
    with django_assert_max_num_queries(9):
        page = client.get(reverse("web-lowdose-protocols"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "one sixth vs standard" in html and "3 min vs standard" in html
    row = re.search(rf'data-protocol-id="{protocol.pk}".*?</tr>', html, re.S).group(0)
    assert re.findall(r'class="text-end">(\d+)</td>', row) == ["2", "1", "1"]  # pairs, evaluated, failed
    assert "Lesion SUVmax bias (%), worst VOI: |value| &lt; 10" in row
    assert 'data-testid="new-protocol"' in html and 'data-testid="enhancement-models-link"' in html
    assert f'href="{reverse("web-report-new", args=["lowdose_validation"])}"' in html  # the report for the programme
    assert f'href="{reverse("web-lowdose-dose-saving")}"' in html


def test_protocol_page_marks_each_criterion_and_costs_the_same_for_more_pairs(  # type: ignore[no-untyped-def]
        actors: Actors, protocol, pairs, django_assert_max_num_queries) -> None:
    client = _client(actors.data_manager)
    url = reverse("web-lowdose-protocol", args=[protocol.pk])
    # session, user, roles (2), protocol, pairs, pairs changeable, reader sessions, latest complete session, the three
    # forms' choices (studies, series twice, readers), the session saved (3)
    with django_assert_max_num_queries(16):
        page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    done = re.search(rf'data-pair-id="{pairs["done"].pk}".*?</tr>', html, re.S).group(0)
    assert 'data-testid="criterion-not-met"' in done and 'data-testid="criterion-met"' in done
    assert "0.123" in done and "same grid" in done and "retry-pair" not in done
    failed = re.search(rf'data-pair-id="{pairs["failed"].pk}".*?</tr>', html, re.S).group(0)
    assert "frame of reference" in failed and 'data-testid="retry-pair"' in failed
    assert 'data-testid="find-pairs"' in html and 'data-testid="assign-pair"' in html
    _more_pairs(actors, protocol, 5)
    with django_assert_max_num_queries(16):
        more = client.get(url)
    assert more.content.decode().count('data-testid="pair"') == 7


def test_pair_page_shows_every_metric_with_its_method_version(actors: Actors, pairs, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    pair = pairs["done"]
    client = _client(actors.data_manager)
    with django_assert_max_num_queries(8):  # session, user, roles (2), the pair with its series and metrics; session saved
        page = client.get(reverse("web-lowdose-pair", args=[pair.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    metrics = re.search(r'data-testid="metrics".*?</table>', html, re.S).group(0)
    for key, value, version in (("nrmse", "0.1234", "similarity-1.0"), ("ssim", "0.9300", "similarity-1.0"),
                                ("psnr_db", "31.5000", "similarity-1.0"), ("liver_snr_test", "4.2500", "similarity-1.0"),
                                ("liver_cv_reference", "0.1050", "similarity-1.0")):
        row = re.search(rf'data-metric="{key}".*?</tr>', metrics, re.S).group(0)
        assert value in row and f"<code>{version}</code>" in row, key
    voi = re.search(r'data-testid="voi">.*?</tr>', html, re.S).group(0)
    assert re.findall(r'class="text-end">([^<]*)</td>', voi) == ["8.00", "8.80", "10.0", "5.00", "5.10", "2.0", "6.50", "6.60", "1.5"]
    assert "<code>voi-2.0</code>" in html
    study_url = reverse("web-study-detail", args=[pair.reference.study_id])
    assert f'href="{study_url}" data-testid="study-link"' in html and f'href="{study_url}#nb-viewer"' in html
    assert 'data-testid="criterion-not-met"' in html and 'data-testid="registration"' not in html  # one frame: no registration
    PairMetrics.objects.filter(pair=pair).update(grid="rigid", registration={
        "method": "rigid/nbnm-2026.1", "rotation_deg": [2.0, 1.0, 0.0], "translation_mm": [6.8, -4.4, 3.4]})
    registered = client.get(reverse("web-lowdose-pair", args=[pair.pk])).content.decode()
    line = re.search(r'data-testid="registration">(.*?)</p>', registered, re.S).group(1)
    assert "2.00, 1.00, 0.00°" in line and "6.80, -4.40, 3.40 mm" in line and "<code>rigid/nbnm-2026.1</code>" in line


def test_pages_of_another_hospital_are_404(actors: Actors, protocol, pairs) -> None:  # type: ignore[no-untyped-def]
    client = _client(actors.coordinator_b)
    assert client.get(reverse("web-lowdose-pair", args=[pairs["done"].pk])).status_code == 404
    page = client.get(reverse("web-lowdose-protocol", args=[protocol.pk]))  # the protocol is programme-wide, its pairs are not
    assert page.status_code == 200 and 'data-testid="pair"' not in page.content.decode()


# --- Define a protocol -------------------------------------------------------------------------------------------------

def _protocol_form(**overrides: str) -> dict[str, str]:
    return {"name": "low dose vs enhanced", "reference_role": "low_activity", "test_role": "enhanced", "description": "",
            "metric_0": "ssim", "bound_0": "min", "value_0": "0.9", "metric_1": "suv_max_bias_percent", "bound_1": "max_abs",
            "value_1": "10", **overrides}


def test_define_a_protocol_writes_it_and_its_audit_event(actors: Actors) -> None:
    response = _client(actors.data_manager).post(reverse("web-lowdose-protocol-new"), _protocol_form())
    protocol = EvaluationProtocol.objects.get(name="low dose vs enhanced")
    assert response.status_code == 302 and response.url == reverse("web-lowdose-protocol", args=[protocol.pk])
    assert (protocol.reference_role, protocol.test_role) == ("low_activity", "enhanced")
    assert protocol.acceptance_criteria == [{"metric": "ssim", "min": 0.9}, {"metric": "suv_max_bias_percent", "max_abs": 10.0}]
    assert AuditEvent.objects.filter(action="create", object_id=str(protocol.pk), actor=actors.data_manager).exists()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"value_1": ""}, "Give the bound&#x27;s value."),
    ({"metric_2": "", "value_2": "3"}, "Choose the metric this bound applies to."),
    ({"test_role": "low_activity"}, "The reference and the test are different roles."),  # the service's refusal
    ({"name": "one sixth vs standard"}, "A protocol with this name exists."),
])
def test_invalid_protocol_says_why_on_the_page_and_writes_nothing(actors: Actors, protocol, overrides, message) -> None:  # type: ignore[no-untyped-def]
    protocols, events = EvaluationProtocol.objects.count(), AuditEvent.objects.count()
    response = _client(actors.data_manager).post(reverse("web-lowdose-protocol-new"), _protocol_form(**overrides))
    assert response.status_code == 400 and message in response.content.decode()
    assert (EvaluationProtocol.objects.count(), AuditEvent.objects.count()) == (protocols, events)


@pytest.mark.parametrize("name", ["coordinator_a", "investigator_a", "monitor_a"])
def test_other_roles_see_the_protocols_but_do_not_define_or_pair(actors: Actors, protocol, pairs, name: str) -> None:  # type: ignore[no-untyped-def]
    client = _client(actors.by_name(name))
    listing = client.get(reverse("web-lowdose-protocols")).content.decode()
    assert "one sixth vs standard" in listing and 'data-testid="new-protocol"' not in listing
    detail = client.get(reverse("web-lowdose-protocol", args=[protocol.pk])).content.decode()
    assert 'data-testid="find-pairs"' not in detail and 'data-testid="retry-pair"' not in detail
    _study, series = _pet_study(actors)
    events = AuditEvent.objects.count()
    assert client.get(reverse("web-lowdose-protocol-new")).status_code == 403
    assert client.post(reverse("web-lowdose-protocol-new"), _protocol_form()).status_code == 403
    assert client.post(reverse("web-lowdose-pair-assign", args=[protocol.pk]),
                       {"reference": series[0].pk, "test": series[1].pk}).status_code == 403
    assert client.post(reverse("web-lowdose-pair-retry", args=[pairs["failed"].pk])).status_code == 403
    assert AuditEvent.objects.count() == events and not EvaluationProtocol.objects.filter(name="low dose vs enhanced").exists()


# --- Pair by hand, find pairs, retry -----------------------------------------------------------------------------------

def test_assign_a_pair_by_hand(actors: Actors, protocol, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    _study, series = _pet_study(actors)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = _client(actors.data_manager).post(reverse("web-lowdose-pair-assign", args=[protocol.pk]),
                                                     {"reference": series[0].pk, "test": series[2].pk})
    pair = EvaluationPair.objects.get(protocol=protocol, reference=series[0], test=series[2])
    assert response.status_code == 302 and response.url == reverse("web-lowdose-pair", args=[pair.pk])
    assert pair.source == "manual" and pair.status == "pending" and len(queued) == 1  # the evaluation is queued
    assert AuditEvent.objects.filter(action="create", object_type__icontains="evaluationpair", object_id=str(pair.pk)).exists()


def test_a_pair_across_two_studies_is_refused_on_the_page(actors: Actors, protocol) -> None:  # type: ignore[no-untyped-def]
    _s1, one = _pet_study(actors)
    _s2, other = _pet_study(actors)
    events = AuditEvent.objects.count()
    response = _client(actors.data_manager).post(reverse("web-lowdose-pair-assign", args=[protocol.pk]),
                                                 {"reference": one[0].pk, "test": other[0].pk})
    assert response.status_code == 400
    assert "The two series are not of the same imaging study" in response.content.decode()
    assert not EvaluationPair.objects.exists() and AuditEvent.objects.count() == events


def test_a_series_out_of_scope_is_not_a_choice(actors: Actors, protocol) -> None:  # type: ignore[no-untyped-def]
    _s, mine = _pet_study(actors)
    _s, theirs = _pet_study(actors, actors.hospital_b)
    # The data manager of hospital A only (not of every hospital): hospital B's series is not among the choices.
    manager_a = UserFactory(username="manager_a")
    MembershipFactory(user=manager_a, hospital=actors.hospital_a, role=HospitalRole.DATA_MANAGER)
    response = _client(manager_a).post(reverse("web-lowdose-pair-assign", args=[protocol.pk]),
                                       {"reference": mine[0].pk, "test": theirs[0].pk})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not EvaluationPair.objects.exists()


def test_find_pairs_in_a_study_then_read_the_evaluation(eager, actors: Actors, study, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    imaging_study, series = study
    protocol = protocol_create(actor=actors.data_manager, name="1/6 vs standard", test_role="low_activity",
                               acceptance_criteria=[{"metric": "ssim", "min": 0.999}])
    client = _client(actors.data_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("web-lowdose-pairs-find", args=[protocol.pk]), {"study": imaging_study.pk})
    assert response.status_code == 302
    pair = EvaluationPair.objects.get(protocol=protocol)
    assert (pair.reference_id, pair.test_id, pair.source, pair.status) == (series[5].pk, series[3].pk, "found", "succeeded")
    assert AuditEvent.objects.filter(action="create", object_id=str(pair.pk)).exists()
    page = client.get(reverse("web-lowdose-pair", args=[pair.pk])).content.decode()
    assert f"{pair.metrics.ssim:.4f}" in page and 'data-testid="criterion-not-met"' in page
    assert "hottest" in page  # the lesion VOI's row of the SUV bias table
    again = client.post(reverse("web-lowdose-pairs-find", args=[protocol.pk]), {"study": imaging_study.pk}, follow=True)
    assert "1 pair(s) of this protocol in the study" in again.content.decode() and EvaluationPair.objects.count() == 1


def test_find_pairs_without_a_study_says_so(actors: Actors, protocol) -> None:  # type: ignore[no-untyped-def]
    response = _client(actors.data_manager).post(reverse("web-lowdose-pairs-find", args=[protocol.pk]), {"study": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()


def test_retry_a_failed_pair(actors: Actors, pairs, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    failed = pairs["failed"]
    client = _client(actors.data_manager)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("web-lowdose-pair-retry", args=[failed.pk]))
    assert response.status_code == 302 and len(queued) == 1
    failed.refresh_from_db()
    assert failed.status == "pending" and failed.error == ""
    assert AuditEvent.objects.filter(action="work_retry", object_id=str(failed.pk)).exists()
    events = AuditEvent.objects.count()
    refused = client.post(reverse("web-lowdose-pair-retry", args=[pairs["done"].pk]))  # succeeded: nothing to retry
    assert refused.status_code == 400 and "Only failed work" in refused.content.decode()
    assert AuditEvent.objects.count() == events


# --- Reader study ---------------------------------------------------------------------------------------------------------

def test_start_a_blinded_reader_study_from_the_protocol_page(actors: Actors, protocol, pairs) -> None:  # type: ignore[no-untyped-def]
    reader = UserFactory(username="reader_c")
    MembershipFactory(user=reader, hospital=HospitalFactory(code="CCC"), role=HospitalRole.INVESTIGATOR)  # blind to A's child
    client = _client(actors.data_manager)
    page = client.get(reverse("web-lowdose-protocol", args=[protocol.pk])).content.decode()
    assert 'data-testid="start-reader-study"' in page and 'data-testid="reader-session"' not in page
    response = client.post(reverse("web-lowdose-reader-study", args=[protocol.pk]), {"readers": ["reader_c"], "evaluated_only": "on"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    session = ReadingSession.objects.get(purpose="lowdose_protocol", purpose_ref=protocol.pk)
    assert AuditEvent.objects.filter(action="lowdose_reader_study", actor=actors.data_manager).exists()
    page = client.get(reverse("web-lowdose-protocol", args=[protocol.pk])).content.decode()
    assert f"#{session.pk}" in page


@pytest.mark.parametrize(("readers", "message"), [([], "This field is required."), (["coordinator_a"], "blind")])
def test_a_refused_reader_study_says_why_and_writes_nothing(actors: Actors, protocol, pairs, readers, message) -> None:  # type: ignore[no-untyped-def]
    events = AuditEvent.objects.count()
    response = _client(actors.data_manager).post(reverse("web-lowdose-reader-study", args=[protocol.pk]),
                                                 {"readers": readers, "evaluated_only": "on"})
    assert response.status_code == 400 and message in response.content.decode()
    assert not ReadingSession.objects.exists() and AuditEvent.objects.count() == events


def test_the_protocol_page_shows_the_reader_results(actors: Actors, reader_world, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _create(actors, reader_world)
    session = _score_everything(reader_world)
    results = {r["criterion"]: r for r in reader_study.reader_results(reader_world["protocol"])}
    client = _client(actors.data_manager)
    with django_assert_max_num_queries(18):  # the page (16) and the session's reads, once (imaging.reading.selectors)
        page = client.get(reverse("web-lowdose-protocol", args=[reader_world["protocol"].pk]))
    html = page.content.decode()
    assert page.status_code == 200 and f"#{session.pk} complete" in html
    row = re.search(r'data-criterion="overall_quality">.*?</tr>', html, re.S).group(0)
    cells = re.findall(r'class="text-end">([^<]*)</td>', row)
    oq = results["overall_quality"]
    assert cells == ["6", floatformat(oq["reference_median"], 2), floatformat(oq["test_median"], 2), "-1.25 (-2.00 – 0.00)",
                     floatformat(oq["wilcoxon_p"], 3), floatformat(oq["agreement"], 2)]
    assert 'data-criterion="lesion_detection_rate"' in html


def test_other_roles_start_no_reader_study(actors: Actors, protocol, pairs) -> None:  # type: ignore[no-untyped-def]
    client = _client(actors.coordinator_a)
    assert 'id="reader-study"' not in client.get(reverse("web-lowdose-protocol", args=[protocol.pk])).content.decode()
    assert client.post(reverse("web-lowdose-reader-study", args=[protocol.pk]), {"readers": ["nobody"]}).status_code == 403
    assert not ReadingSession.objects.exists()


def test_the_pages_read_their_input_through_forms() -> None:
    for module in ("views.py", "forms.py"):
        assert list(violations((Path(__file__).resolve().parent.parent / "web" / module).read_text())) == []
