"""A blinded case's own DICOMweb root (imaging/reading/dicomweb.py) and the viewer dict of the case page.

Real synthetic PET pairs (one-sixth activity vs standard, the activity in the header) are ingested and run through the
pipeline (SUV, previews). The reader's case page, the case's QIDO series, metadata and frames are fetched, and every
body is searched for the real study's values as strings: descriptions, protocol, dates and times, activity and
radiopharmaceutical, institution, patient, original UIDs, the Bq/ml slopes and the SUV factor. The same search over
the ordinary /dicomweb metadata (as a user of the study's hospital) finds them, so the search can fail.
"""
import json
import re
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pydicom.datadict import tag_for_keyword

from conftest import api_client
from imaging import synthetic
from imaging.models import Instance, SuvResult
from imaging.reading import dicomweb as case_dw
from imaging.reading.services.sessions import ItemInput, reading_session_create
from imaging.reading.tests import helpers as h
from imaging.tests.analysis_helpers import ingest_datasets
from imaging.tests.helpers import like
from imaging.volume import read_dataset
from registry.tests.factories import HospitalFactory

pytestmark = pytest.mark.usefixtures("eager")
ARMS = ("low-dose", "standard-dose")
HIDDEN_KEYWORDS = (
    "SeriesDescription", "StudyDescription", "ProtocolName", "StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate",
    "StudyTime", "SeriesTime", "AcquisitionTime", "ContentTime", "InstitutionName", "Manufacturer", "ManufacturerModelName",
    "StationName", "PatientID", "PatientName", "PatientBirthDate", "AccessionNumber", "StudyID", "StudyInstanceUID",
    "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID", "RescaleSlope", "ReconstructionMethod", "DeviceSerialNumber",
)
RADIOPHARMACEUTICAL = ("RadionuclideTotalDose", "RadiopharmaceuticalStartDateTime", "RadiopharmaceuticalStartTime",
                       "Radiopharmaceutical", "RadionuclideHalfLife")


@pytest.fixture
def blinded(actors, tmp_path, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    patient = h.patient_at(actors.coordinator_b, actors.hospital_b)
    child = like(patient)
    ctx = synthetic.study_context(patient=child, seed=61)
    pair = [synthetic.pet_series(tracer="F18_FDG", patient=child, seed=61, study=ctx, low_dose=low, n_slices=3, rows=16, cols=16,
                                 series_number=number) for low, number in ((True, 3), (False, 5))]
    study = ingest_datasets(actors.coordinator_b, patient, [*pair[0], *pair[1]], tmp_path, django_capture_on_commit_callbacks)
    items = [ItemInput(study.series.get(series_number=ds[0].SeriesNumber), arm) for arm, ds in zip(ARMS, pair, strict=True)]
    reader, other = actors.investigator_a, h.investigator(HospitalFactory(code="CCC"), "reader2")
    session = reading_session_create(actor=actors.data_manager, name="Secret session name", instructions="Score each case.",
                                     items=items, readers=[reader, other], seed=5)
    assignment = session.assignments.get(reader=reader)
    return {"study": study, "session": session, "reader": reader, "other": other, "assignment": assignment,
            "cases": list(assignment.cases.select_related("item__series__suv", "assignment").order_by("position"))}


def _strings(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [s for v in value for s in _strings(v)]
    text = str(value).strip()
    return [text] if len(text) >= 4 else []


def _hidden_values(study) -> set[str]:  # type: ignore[no-untyped-def]
    """The real study's values that must not reach a blinded reader, read from the stored files and the database."""
    found: set[str] = {*ARMS, "Secret session name", "reader2", study.patient.study_id}
    for inst in Instance.objects.filter(series__study=study):
        ds = read_dataset(inst, pixels=False)
        for keyword in HIDDEN_KEYWORDS:
            if keyword in ds:
                found.update(_strings(ds[keyword].value))
        for item in ds.get("RadiopharmaceuticalInformationSequence", []):
            for keyword in RADIOPHARMACEUTICAL:
                if keyword in item:
                    found.update(_strings(item[keyword].value))
    for series in study.series.all():
        found.update(_strings(series.description))
    for suv in SuvResult.objects.filter(series__study=study, suv_bw_factor__isnull=False):
        found |= {repr(suv.suv_bw_factor), f"{suv.suv_bw_factor:.6g}", f"{suv.suv_bw_factor:.4g}"}
    if study.study_date:
        found |= {study.study_date.isoformat(), study.study_date.strftime("%Y%m%d")}
    return found


def _leaks(bodies: dict[str, bytes], hidden: set[str]) -> list[tuple[str, str]]:
    return [(url, word) for url, body in bodies.items() for word in hidden if word.lower() in body.decode("latin-1").lower()]


def _case_urls(case) -> dict[str, str]:  # type: ignore[no-untyped-def]
    names = case_dw.Pseudonyms(case)
    first = Instance.objects.filter(series=case.item.series).order_by("instance_number").first()
    base = [case.assignment_id, case.position, names.study_uid]
    return {"series": reverse("reading-case-dicomweb-series", args=base),
            "metadata": reverse("reading-case-dicomweb-metadata", args=[*base, names.series_uid]),
            "frames": reverse("reading-case-dicomweb-frames", args=[*base, names.series_uid, names.of(first.sop_instance_uid), "1"])}


def _viewer(page_body: str) -> dict[str, Any]:
    match = re.search(r'<script id="viewer-config" type="application/json">(.*?)</script>', page_body, re.S)
    assert match, "the case page renders the viewer's json_script"
    return json.loads(match.group(1))


def test_nothing_hidden_reaches_the_reader(blinded, actors) -> None:  # type: ignore[no-untyped-def]
    client = api_client(blinded["reader"])
    hidden = _hidden_values(blinded["study"])
    assert len(hidden) > 30  # descriptions, dates, times, UIDs, activities, slopes, factors: the search has something to find
    bodies: dict[str, bytes] = {}
    for case in blinded["cases"]:
        page = client.get(reverse("web-reading-case", args=[case.assignment_id, case.position]))
        assert page.status_code == 200
        viewer = page.context["viewer"]
        bodies[f"viewer {case.position}"] = json.dumps(viewer).encode()
        assert viewer["blinded"] is True and viewer["wadoRoot"] == case_dw.case_root(case)
        assert [s["label"] for s in viewer["series"]] == ["Series 1"]
        assert viewer["series"][0]["suv"] == {"factor": 1.0, "kind": "SUVbw"}
        if "viewer-config" in page.content.decode():  # once the partial is included (helper A's template)
            assert _viewer(page.content.decode()) == json.loads(json.dumps(viewer))
        for name, url in _case_urls(case).items():
            response = client.get(url)
            assert response.status_code == 200, (name, response.content[:200])
            bodies[url] = response.content
    assert _leaks(bodies, hidden) == []


def test_the_search_finds_the_hidden_values_in_ordinary_dicomweb(blinded, actors) -> None:  # type: ignore[no-untyped-def]
    """Positive control: hospital B's coordinator reads the same series through /dicomweb and sees what is hidden."""
    series = blinded["cases"][0].item.series
    body = api_client(actors.coordinator_b).get(
        reverse("dicomweb-series-metadata", args=[series.study.study_uid, series.series_uid])).content
    words = {word for _, word in _leaks({"dw": body}, _hidden_values(blinded["study"]))}
    assert {series.series_uid, series.study.study_uid} <= words
    dose = str(read_dataset(series.instances.first(), pixels=False).RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose)
    assert dose in words and len(words) >= 10  # the activity, and dates, times, slopes


def test_metadata_is_the_allow_list_with_suv_folded_into_the_slope(blinded) -> None:  # type: ignore[no-untyped-def]
    case = blinded["cases"][0]
    body = api_client(blinded["reader"]).get(_case_urls(case)["metadata"]).json()
    allowed = {f"{tag_for_keyword(k):08X}" for k in (*case_dw.ALLOWED, *case_dw.ALLOWED_SEQUENCES, *case_dw.WRITTEN)}
    assert body and all(set(item) <= allowed for item in body)
    factor = SuvResult.objects.get(series=case.item.series).suv_bw_factor
    assert factor
    stored = sorted(Instance.objects.filter(series=case.item.series), key=lambda i: i.instance_number)
    assert len(body) == len(stored)
    for item, inst in zip(sorted(body, key=lambda i: i["00200013"]["Value"][0]), stored, strict=True):
        original = read_dataset(inst, pixels=False)
        slope = float(item["00281053"]["Value"][0])
        assert slope == pytest.approx(float(original.RescaleSlope) * factor, rel=1e-9)
        assert item["00541001"]["Value"] == ["GML"]  # Units: g/ml, the rescaled values are SUVbw
        assert item["00080018"]["Value"][0] == case_dw.Pseudonyms(case).of(original.SOPInstanceUID)
        assert item["00200032"]["Value"] == [float(v) for v in original.ImagePositionPatient]


def test_frames_are_the_stored_pixels(blinded, actors) -> None:  # type: ignore[no-untyped-def]
    case = blinded["cases"][0]
    first = Instance.objects.filter(series=case.item.series).order_by("instance_number").first()
    mine = api_client(blinded["reader"]).get(_case_urls(case)["frames"])
    series = case.item.series
    theirs = api_client(actors.coordinator_b).get(reverse("dicomweb-frames", args=[
        series.study.study_uid, series.series_uid, first.sop_instance_uid, "1"]))
    assert mine.status_code == theirs.status_code == 200

    def pixels(response) -> bytes:  # type: ignore[no-untyped-def]
        return response.content.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]

    assert pixels(mine) == pixels(theirs)
    expected = read_dataset(first).pixel_array.astype("<i2").tobytes()
    assert pixels(mine) == expected and np.frombuffer(expected, "<i2").std() > 0


def test_pseudonyms_are_stable_per_case_and_unrelated_across_cases(blinded) -> None:  # type: ignore[no-untyped-def]
    a, b = blinded["cases"]
    assert a.item.series.study_id == b.item.series.study_id  # both series are of one study...
    first, again = case_dw.Pseudonyms(a), case_dw.Pseudonyms(type(a).objects.select_related("assignment", "item__series__study").get(pk=a.pk))
    assert first.study_uid == again.study_uid and first.series_uid == again.series_uid
    assert first.study_uid != case_dw.Pseudonyms(b).study_uid  # ...which the case UIDs do not tell
    assert re.fullmatch(r"2\.25\.\d{1,39}", first.study_uid) and len(first.study_uid) <= 64
    other = blinded["session"].assignments.get(reader=blinded["other"]).cases.get(item=a.item)
    assert case_dw.Pseudonyms(other).series_uid != first.series_uid


def test_scope_other_readers_case_real_uids_and_hospital(blinded, actors) -> None:  # type: ignore[no-untyped-def]
    case = blinded["cases"][0]
    urls = _case_urls(case)
    for user in (blinded["other"], actors.data_manager, actors.coordinator_b, actors.nobody):
        for url in urls.values():
            assert api_client(user).get(url).status_code == 404, (user, url)
    assert api_client(None).get(urls["metadata"]).status_code == 401
    reader = api_client(blinded["reader"])
    series = case.item.series
    real = reverse("reading-case-dicomweb-metadata", args=[case.assignment_id, case.position, series.study.study_uid,
                                                             series.series_uid])
    assert reader.get(real).status_code == 404  # the real UIDs name nothing under the case root
    # The other case's series under this case's root: its pseudonyms are not this case's.
    b = case_dw.Pseudonyms(blinded["cases"][1])
    assert reader.get(reverse("reading-case-dicomweb-metadata", args=[case.assignment_id, case.position, b.study_uid,
                                                                         b.series_uid])).status_code == 404
    assert reader.get(urls["frames"].replace("/frames/1", "/frames/9")).status_code == 400
    # Non-blinded scope: the reader cannot open hospital B's study through /dicomweb.
    assert reader.get(reverse("dicomweb-series-metadata", args=[series.study.study_uid, series.series_uid])).status_code == 404


def test_case_endpoints_query_counts(blinded) -> None:  # type: ignore[no-untyped-def]
    client = api_client(blinded["reader"])
    case = blinded["cases"][0]
    for name, url in _case_urls(case).items():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        # session + user, the case (joined), the blinding check, the instances
        reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
        # session, user, the user's two membership lists, the case (joined), the blinding check, the instances
        assert len(reads) <= 7, (name, reads)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("web-reading-case", args=[case.assignment_id, case.position])).status_code == 200
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(reads) <= 15, reads  # 15th: the case's known lesions with the reader's calls (one query)
