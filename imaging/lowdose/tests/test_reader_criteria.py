"""A reader-study acceptance criterion (issue 18 item 5, "non-inferior image quality"): check_criteria takes and refuses
it, the per-pair evaluation skips it (a protocol with both kinds still evaluates its pairs), the protocol form offers it,
and the validation report judges it from the real reader study: met when the 95 % interval's lower bound of test -
reference is at or above the margin, not met below it, not judged (with the reason) without a complete session."""
from datetime import date

import pytest
from django.urls import reverse

from conftest import Actors, api_client
from imaging.lowdose import reader_study
from imaging.lowdose.evaluation import _judge
from imaging.lowdose.models import EvaluationPair, EvaluationProtocol, PairMetrics
from imaging.lowdose.services import READER_CRITERIA, check_criteria, protocol_create
from imaging.lowdose.tests import test_reader_study as rs
from imaging.lowdose.tests.test_evaluation import study  # noqa: F401  (fixture: a synthetic PET study, analysed)
from imaging.lowdose.tests.test_pages import _client, _protocol_form
from imaging.models import VoiMeasurement
from imaging.reading.tests import helpers as h
from registry.errors import ApplicationError
from reports.builders.lowdose_validation import authorise, build

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


# --- The report's conclusion line, from the real reader study -----------------------------------------------------------

def _scored_reader_study(actors: Actors, criteria: list[dict]) -> EvaluationProtocol:
    """test_reader_study's six children, read and scored by two readers as its own tests score them (no stored metrics)."""
    protocol = protocol_create(actor=actors.data_manager, name="Reader criteria", test_role="low_activity",
                               acceptance_criteria=criteria)
    patients = []
    for child, lesions in enumerate(rs.LESIONS_PER_CHILD):
        patient = h.patient_at(actors.coordinator_b, actors.hospital_b)
        ref, test = rs._study(actors.coordinator_b, actors.hospital_b, patient, date(2021, 1, 1 + child))
        EvaluationPair.objects.create(protocol=protocol, reference=ref, test=test, source="manual", requested_by=actors.data_manager,
                                      status="succeeded", progress=100)
        for k in range(lesions):
            VoiMeasurement.objects.create(series=ref, created_by=actors.data_manager, label=f"site {k + 1}", kind="lesion",
                                          shape="sphere", centre_mm=[10.0 * k, 0.0, -50.0], radius_mm=8.0)
        patients.append(patient)
    world = {"protocol": protocol, "patients": patients, "readers": [actors.investigator_a, h.investigator(actors.hospital_a, "reader2")]}
    rs._create(actors, world)
    rs._score_everything(world)
    return protocol


def _conclusions(user, protocol: EvaluationProtocol, language: str = "en") -> list[dict]:  # type: ignore[no-untyped-def]
    params = {**authorise(user, {"protocol": protocol.pk}), "language": language}
    return next(s.frame for s in build(user, params, lambda p: None).sections if s.key == "conclusions").to_dict("records")


def test_the_report_judges_the_margin_against_the_intervals_lower_bound(actors: Actors) -> None:
    protocol = _scored_reader_study(actors, [])
    result = {r["criterion"]: r for r in reader_study.reader_results(protocol)}["overall_quality"]
    low = result["ci_low"]
    assert low is not None and low < 0  # the test arm scores lower (test_reader_study's REF_BASE vs TEST_BASE)
    # Margins at the lower bound (met: >=) and just above it (not met); a detection criterion that has no interval.
    EvaluationProtocol.objects.filter(pk=protocol.pk).update(acceptance_criteria=check_criteria([
        {"reader": "overall_quality", "non_inferiority_margin": low},
        {"reader": "overall_quality", "non_inferiority_margin": min(0.0, low + 0.25)}]))
    met, not_met = _conclusions(actors.data_manager, protocol)
    assert met["met"] is True and not_met["met"] is False
    assert met["metric"] == "reader:overall_quality" and met["worst_value"] == pytest.approx(low)
    assert met["pairs_judged"] == result["n"] == 6 and met["bound"] == f"non_inferiority_margin {low:g}"
    assert met["conclusion"] == (
        f"Overall image quality (reader study), test non-inferior to reference, margin {low:g}: met. Test - reference "
        f"{result['median_difference']:.3g}, 95 % interval {low:.3g} to {result['ci_high']:.3g} (n = 6 children); its lower "
        f"bound is at or above the margin {low:g}.")
    assert ": not met." in not_met["conclusion"] and "is below the margin" in not_met["conclusion"]
    zh = _conclusions(actors.data_manager, protocol, "zh-hans")
    assert zh[0]["conclusion"].startswith("整体图像质量（阅片研究）：测试不劣于参考") and "：达到。" in zh[0]["conclusion"]
    assert "：未达到。" in zh[1]["conclusion"]
    # A site investigator does not hold the reading sessions: not judged, and why.
    [shown_not] = _conclusions(actors.investigator_a, protocol)[:1]
    assert shown_not["met"] is None and "not judged. Reader results are shown only to data managers" in shown_not["conclusion"]


def test_not_judged_without_a_complete_session_or_an_interval(actors: Actors, monkeypatch) -> None:
    protocol = protocol_create(actor=actors.data_manager, name="No readers yet", test_role="low_activity",
                               acceptance_criteria=[QUALITY, {"metric": "ssim", "min": 0.9}])
    reader_line, metric_line = _conclusions(actors.data_manager, protocol)
    assert reader_line["met"] is None and reader_line["conclusion"].endswith(
        "not judged. No reader-study session of this protocol is complete.")
    assert metric_line["metric"] == "ssim" and metric_line["met"] is None  # the metric criterion's line is unchanged
    # A fixed result (monkeypatched reader_results) whose interval could not be computed: not judged, with the reason.
    monkeypatch.setattr("imaging.lowdose.reader_study.reader_results", lambda p: [
        {"criterion": "overall_quality", "n": 3, "median_difference": -1.0, "ci_low": None, "ci_high": None,
         "ci_not_computable_reason": "3 pairs cannot give a 95% interval"}])
    reader_line = _conclusions(actors.data_manager, protocol)[0]
    assert reader_line["met"] is None and "No 95 % interval of test - reference: 3 pairs cannot give a 95% interval." in \
        reader_line["conclusion"] and reader_line["pairs_judged"] == 0


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
