"""The validation report's conclusion line for a reader-study acceptance criterion (imaging.lowdose.services.check_criteria
{"reader": key, "non_inferiority_margin": m}), from the real reader study scored as its own tests score it: met when the
95 % interval's lower bound of test - reference is at or above the margin, not met below it, not judged (with the reason)
without a complete session, without an interval, or for a user who may not see the reading sessions."""
from datetime import date

import pytest

from conftest import Actors
from imaging.lowdose import reader_study
from imaging.lowdose.models import EvaluationPair, EvaluationProtocol
from imaging.lowdose.services import check_criteria, protocol_create
from imaging.lowdose.tests import test_reader_study as rs
from imaging.models import VoiMeasurement
from imaging.reading.tests import helpers as h
from reports.builders.lowdose_validation import authorise, build

pytestmark = pytest.mark.django_db
QUALITY = {"reader": "overall_quality", "non_inferiority_margin": -0.5}


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


def test_a_run_with_both_kinds_renders_whole_counts_and_the_reader_line(actors: Actors, eager,  # type: ignore[no-untyped-def]
                                                                         django_capture_on_commit_callbacks) -> None:
    import csv
    import io

    from reports.tests.helpers import csv_text, generate
    from reports.tests.test_lowdose_validation import PAIRS, make_pairs

    protocol = protocol_create(actor=actors.data_manager, name="Both kinds", test_role="low_activity",
                               acceptance_criteria=[{"metric": "ssim", "min": 0.9}, QUALITY])
    make_pairs(actors, protocol, PAIRS)
    run = generate(actors.data_manager, "lowdose_validation", {"protocol": protocol.pk}, django_capture_on_commit_callbacks)
    metric_row, reader_row = csv.DictReader(io.StringIO(csv_text(run, "conclusions")))
    # SSIM 0.88 in the third pair: 3 of 4 meet it, written as a whole count beside the reader row's empty one.
    assert (metric_row["pairs_met"], metric_row["met"]) == ("3", "false")
    assert (reader_row["metric"], reader_row["pairs_met"], reader_row["met"]) == ("reader:overall_quality", "", "")
    assert reader_row["conclusion"].endswith("not judged. No reader-study session of this protocol is complete.")
    assert any("judged over the latest complete reader-study session" in n for n in run.result["notes"])
