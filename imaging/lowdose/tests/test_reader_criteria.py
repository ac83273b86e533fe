"""A reader-study acceptance criterion (issue 18 item 5, "non-inferior image quality"): check_criteria takes and refuses
it, the per-pair evaluation skips it (a protocol with both kinds still evaluates its pairs), and the protocol form offers
it. The validation report's judgement of it: reports/tests/test_lowdose_reader_criteria.py."""
import pytest
from django.urls import reverse

from conftest import Actors, api_client
from imaging.lowdose import reader_study
from imaging.lowdose.evaluation import _judge
from imaging.lowdose.models import EvaluationPair, EvaluationProtocol, PairMetrics
from imaging.lowdose.services import READER_CRITERIA, check_criteria
from imaging.lowdose.tests.test_evaluation import study  # noqa: F401  (fixture: a synthetic PET study, analysed)
from imaging.lowdose.tests.test_pages import _client, _protocol_form
from registry.errors import ApplicationError

pytestmark = pytest.mark.django_db
API = "/api/v1/lowdose/"
QUALITY = {"reader": "overall_quality", "non_inferiority_margin": -0.5}


def test_the_reader_keys_are_the_reader_studys() -> None:
    assert READER_CRITERIA == tuple(key for key, _label in reader_study.CRITERIA)


def test_check_criteria_takes_a_reader_criterion_beside_a_metric() -> None:
    both = [{"metric": "voi_suv_max_bias_percent", "max_abs": 10}, {"reader": "lesion_detection_rate", "non_inferiority_margin": -0.1},
            {"reader": "noise", "non_inferiority_margin": 0}]
    assert check_criteria(both) == [{"metric": "voi_suv_max_bias_percent", "max_abs": 10},
                                    {"reader": "lesion_detection_rate", "non_inferiority_margin": -0.1},
                                    {"reader": "noise", "non_inferiority_margin": 0.0}]


@pytest.mark.parametrize(("bad", "says"), [
    ({"reader": "image_beauty", "non_inferiority_margin": -0.5}, "A reader criterion names one of"),
    ({"reader": "noise", "non_inferiority_margin": 0.5}, "at most 0"),
    ({"reader": "noise"}, "at most 0"),
    ({"reader": "noise", "non_inferiority_margin": "-0.5"}, "at most 0"),
    ({"reader": "noise", "non_inferiority_margin": True}, "at most 0"),
    ({"reader": "noise", "non_inferiority_margin": float("-inf")}, "at most 0"),
    ({"reader": "noise", "metric": "ssim", "non_inferiority_margin": -0.5}, "not both"),
    ({"reader": "noise", "non_inferiority_margin": -0.5, "min": 3}, "only reader and non_inferiority_margin"),
])
def test_check_criteria_refuses_a_bad_reader_criterion(bad: dict, says: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        check_criteria([bad])
    assert refused.value.code == "invalid_criterion" and says in str(refused.value)
    assert "acceptance_criteria" in refused.value.fields


def test_the_api_refuses_it_with_400_code_and_message(actors: Actors) -> None:
    client = api_client(actors.data_manager)
    response = client.post(f"{API}protocols/", {"name": "q", "test_role": "low_activity",
                                                "acceptance_criteria": [{"reader": "noise", "non_inferiority_margin": 1}]}, format="json")
    body = response.json()
    assert response.status_code == 400 and body["code"] == "invalid_criterion" and "at most 0" in body["detail"]
    assert not EvaluationProtocol.objects.filter(name="q").exists()


def test_the_per_pair_judgement_skips_reader_criteria() -> None:
    judged = _judge([QUALITY, {"metric": "ssim", "min": 0.9}], {"ssim": [0.95]})
    assert judged == [{"metric": "ssim", "min": 0.9, "met": True, "value": 0.95}]


@pytest.mark.usefixtures("eager")
def test_a_protocol_with_both_kinds_evaluates_its_pairs(actors: Actors, study, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    imaging_study, series = study
    client = api_client(actors.data_manager)
    created = client.post(f"{API}protocols/", {"name": "both", "test_role": "low_activity",
                                               "acceptance_criteria": [{"metric": "ssim", "min": 0.5}, QUALITY]}, format="json")
    assert created.status_code == 201, created.content
    with django_capture_on_commit_callbacks(execute=True):
        found = client.post(f"{API}pairs/find/", {"protocol": created.json()["id"], "study": imaging_study.pk}, format="json")
    [pair] = found.json()["pairs"]
    assert EvaluationPair.objects.get(pk=pair["id"]).status == EvaluationPair.Status.SUCCEEDED
    [judged] = PairMetrics.objects.get(pair_id=pair["id"]).criteria  # the reader criterion is not a pair's
    assert judged["metric"] == "ssim" and judged["met"] is True


# --- The protocol form --------------------------------------------------------------------------------------------------

def test_the_form_defines_a_reader_criterion_beside_the_metric_rows(actors: Actors) -> None:
    page = _client(actors.data_manager).get(reverse("web-lowdose-protocol-new")).content.decode()
    assert '<option value="reader:overall_quality">' in page and '<option value="non_inferiority_margin">' in page
    response = _client(actors.data_manager).post(reverse("web-lowdose-protocol-new"), _protocol_form(
        metric_2="reader:lesion_detection_rate", bound_2="non_inferiority_margin", value_2="-0.1"))
    assert response.status_code == 302
    protocol = EvaluationProtocol.objects.get(name="low dose vs enhanced")
    assert protocol.acceptance_criteria == [{"metric": "ssim", "min": 0.9}, {"metric": "suv_max_bias_percent", "max_abs": 10.0},
                                            {"reader": "lesion_detection_rate", "non_inferiority_margin": -0.1}]
    detail = _client(actors.data_manager).get(reverse("web-lowdose-protocol", args=[protocol.pk])).content.decode()
    assert "Reader study, Lesion detection rate: test non-inferior to reference, margin -0.1" in detail


@pytest.mark.parametrize(("overrides", "message"), [
    ({"metric_2": "reader:noise", "bound_2": "min", "value_2": "-0.5"}, "judged by a margin of non-inferiority"),
    ({"metric_2": "reader:noise", "bound_2": "non_inferiority_margin", "value_2": "0.5"}, "The margin is at most 0"),
    ({"metric_2": "ssim", "bound_2": "non_inferiority_margin", "value_2": "-0.5"}, "applies to a reader-study criterion"),
])
def test_the_form_refuses_a_bad_reader_row(actors: Actors, overrides: dict, message: str) -> None:
    response = _client(actors.data_manager).post(reverse("web-lowdose-protocol-new"), _protocol_form(**overrides))
    assert response.status_code == 400 and message in response.content.decode()
    assert not EvaluationProtocol.objects.exists()
