"""VOI endpoint: the SUVpeak method and the SUL lean-body-mass formula are chosen per measurement and stored with it."""
import pytest

from conftest import Actors, api_client
from imaging.models import SuvResult, VoiMeasurement
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done, sphere_phantom
from imaging.tests.helpers import child, like
from nucmed.body_size import lbm_james, lbm_peters

pytestmark = pytest.mark.usefixtures("eager")
URL = "/api/v1/imaging/vois/"


@pytest.fixture
def phantom_series(actors: Actors, tmp_path, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    phantom = sphere_phantom(like(patient))
    study = ingest_datasets(actors.coordinator_a, patient, phantom.datasets, tmp_path / "p", django_capture_on_commit_callbacks)
    pipeline_done(study)
    return phantom, study.series.get()


def test_default_is_percist_peak_and_the_childrens_lbm(actors, phantom_series) -> None:  # type: ignore[no-untyped-def]
    phantom, series = phantom_series
    body = api_client(actors.investigator_a).post(URL, {"series": series.pk, "shape": "sphere", "centre_mm": list(phantom.centre_mm),
                                                        "radius_mm": 45.0}).json()
    header = SuvResult.objects.get(series=series).details["header"]
    weight, height = header["weight_kg"], header["height_m"]
    assert body["details"]["suv_peak_method"] == "percist" and body["method_version"] == "voi/nbnm-2026.2"
    sul = body["details"]["sul"]
    assert sul["lbm_formula"] == "peters" and "Br J Anaesth 2011" in sul["lbm_source"]
    ratio = lbm_peters(weight, height) / weight
    assert sul["lbm_kg"] == pytest.approx(lbm_peters(weight, height), abs=1e-3)
    assert sul["sul_max"] == pytest.approx(body["suv_max"] * ratio, rel=1e-4)
    assert sul["sul_peak"] == pytest.approx(body["suv_peak"] * ratio, rel=1e-4)
    assert SuvResult.objects.get(series=series).details["suv_lbm_peters_factor"] == pytest.approx(
        SuvResult.objects.get(series=series).suv_bw_factor * ratio)


def test_the_older_peak_and_another_lbm_formula_on_request(actors, phantom_series) -> None:  # type: ignore[no-untyped-def]
    phantom, series = phantom_series
    client = api_client(actors.investigator_a)
    body = client.post(URL, {"series": series.pk, "shape": "sphere", "centre_mm": list(phantom.centre_mm), "radius_mm": 45.0,
                             "peak_method": "centred_on_max", "lbm_formula": "james"}).json()
    header = SuvResult.objects.get(series=series).details["header"]
    assert body["details"]["suv_peak_method"] == "centred_on_max"
    assert body["details"]["suv_peak_centre_index"] == body["details"]["suv_max_index"]
    james = lbm_james(header["weight_kg"], header["height_m"], header["sex"])
    assert body["details"]["sul"]["lbm_kg"] == pytest.approx(james, abs=1e-3)
    refused = client.post(URL, {"series": series.pk, "shape": "sphere", "centre_mm": list(phantom.centre_mm), "radius_mm": 45.0,
                                "lbm_formula": "boer"})
    assert refused.status_code == 400 and "lbm_formula" in refused.json()["fields"]
    assert VoiMeasurement.objects.count() == 1
