"""The demo low-dose seeder on one child (scale 0.02): a study with the standard FDG PET, its simulated one-sixth-activity
and 3-minute versions and the demonstration model's enhanced series; the four demo protocols' pairs found and evaluated
by the work engine (eager); run again, it adds nothing."""
import pytest

from imaging.enhancement.demo_model import DEMO_NAME
from imaging.enhancement.models import EnhancementModel, EnhancementRun
from imaging.lowdose.demo_seed import LOW_ACTIVITY_NUMBER, PROTOCOLS, SHORT_SCAN_NUMBER, STANDARD_NUMBER, seed_lowdose
from imaging.lowdose.models import EvaluationPair, EvaluationProtocol
from imaging.lowdose.services import series_attributes
from imaging.models import ImagingStudy
from imaging.tests.helpers import child
from imaging.volume import series_volume
from registry.audit import verify_chain

pytestmark = pytest.mark.usefixtures("eager")


def test_demo_seed_makes_low_count_series_an_enhanced_one_and_evaluated_pairs(actors, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    lines: list[str] = []
    with django_capture_on_commit_callbacks(execute=True):
        seed_lowdose(actors.data_manager, 0.02, lines.append)
    assert "Demo low-dose evaluation: 1 studies" in lines[-1] and "1 enhanced series" in lines[-1], lines

    study = ImagingStudy.objects.get(patient=patient)
    series = {s.series_number: s for s in study.series.all()}
    derived_number = LOW_ACTIVITY_NUMBER + 900
    assert sorted(series) == [STANDARD_NUMBER, LOW_ACTIVITY_NUMBER, SHORT_SCAN_NUMBER, derived_number]
    attributes = {n: series_attributes(s) for n, s in series.items()}
    standard = attributes[STANDARD_NUMBER]
    assert attributes[LOW_ACTIVITY_NUMBER].injected_mbq == pytest.approx(standard.injected_mbq / 6, abs=1e-6)
    assert attributes[LOW_ACTIVITY_NUMBER].frame_ms == standard.frame_ms
    assert attributes[SHORT_SCAN_NUMBER].injected_mbq == standard.injected_mbq
    assert attributes[SHORT_SCAN_NUMBER].frame_ms < 0.75 * standard.frame_ms  # 3 minutes over the child's whole body
    assert attributes[derived_number].derivation.startswith(f"Enhanced by {DEMO_NAME}")
    # The SUV is kept with a sixth of the activity (the concentration fell with it): the body's mean SUV.
    low_factor, standard_factor = series[LOW_ACTIVITY_NUMBER].suv.suv_bw_factor, series[STANDARD_NUMBER].suv.suv_bw_factor
    assert low_factor == pytest.approx(6 * standard_factor, rel=1e-3)
    reference = series_volume(series[STANDARD_NUMBER]).data * standard_factor
    body = reference > 0.05 * reference.max()
    low_suv = series_volume(series[LOW_ACTIVITY_NUMBER]).data * low_factor
    assert float(low_suv[body].mean()) == pytest.approx(float(reference[body].mean()), rel=0.03)

    model = EnhancementModel.objects.get()
    assert model.name == DEMO_NAME and "not a clinical model" in model.description
    run = EnhancementRun.objects.get()
    assert (run.outcome, run.source_id, run.derived_id) == ("done", series[LOW_ACTIVITY_NUMBER].pk, series[derived_number].pk)

    pairs = {(p.protocol.name, p.reference.series_number, p.test.series_number): p
             for p in EvaluationPair.objects.select_related("protocol", "reference", "test", "metrics")}
    assert set(pairs) == {
        ("DEMO standard vs 1/6 activity", STANDARD_NUMBER, LOW_ACTIVITY_NUMBER),
        ("DEMO standard vs 3-minute scan", STANDARD_NUMBER, SHORT_SCAN_NUMBER),
        ("DEMO 1/6 activity vs enhanced", LOW_ACTIVITY_NUMBER, derived_number),
        ("DEMO standard vs enhanced", STANDARD_NUMBER, derived_number),
    }
    for pair in pairs.values():
        assert pair.status == "succeeded" and pair.source == "found", (pair.error_code, pair.error)
        assert pair.metrics.grid == "same grid" and 0 < pair.metrics.ssim < 1
        assert [c["metric"] for c in pair.metrics.criteria] == ["suv_max_bias_percent", "ssim", "nrmse"]
        assert all(c["met"] in (True, False) for c in pair.metrics.criteria)
    nrmse = {key[0]: p.metrics.nrmse for key, p in pairs.items()}
    # The smoothing brings the one-sixth image closer to the standard one (less noise) than the unsmoothed one is.
    assert nrmse["DEMO standard vs enhanced"] < nrmse["DEMO standard vs 1/6 activity"]
    # A 3-minute scan over a whole body keeps fewer counts than a sixth of the activity at 2 minutes per bed: noisier.
    assert nrmse["DEMO standard vs 3-minute scan"] > nrmse["DEMO standard vs enhanced"]

    assert EvaluationProtocol.objects.count() == len(PROTOCOLS)
    with django_capture_on_commit_callbacks(execute=True):
        seed_lowdose(actors.data_manager, 0.02, lines.append)
    assert lines[-1] == "Demo low-dose evaluation already present: nothing added."
    assert EvaluationPair.objects.count() == 4 and ImagingStudy.objects.count() == 1
    assert verify_chain().ok
