"""DICOMweb completeness (PS3.18): every QIDO-RS level and option, WADO-RS metadata, bulk data, frames, rendered
images and thumbnails; with dicomweb-client against the live server, and directly for the matching semantics."""
import io
from datetime import date, time
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from PIL import Image
from requests import HTTPError, Session
from rest_framework.authtoken.models import Token

from conftest import Actors, api_client
from imaging import synthetic
from imaging.models import ImagingStudy, Instance, Series
from imaging.services.ingest import IncomingFile, ingest
from imaging.tests.helpers import child, like
from imaging.volume import read_dataset

PN, ID, DATE, UID, SERIES_UID, SOP_UID, MODALITIES = "00100010", "00100020", "00080020", "0020000D", "0020000E", "00080018", "00080061"


def _ingest(actor: Any, patient: Any, tmp: Path, seed: int, study_date: date, at: time, *, with_ct: bool) -> ImagingStudy:
    pl = like(patient)
    ctx = synthetic.study_context(patient=pl, seed=seed, study_date=study_date, scan_start=at)
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=pl, seed=seed, n_slices=4, rows=16, cols=16, study=ctx)
    if with_ct:
        datasets += synthetic.ct_series(patient=pl, seed=seed, n_slices=4, rows=16, cols=16, study=ctx)
    files = synthetic.write_series(datasets, tmp / f"s{seed}")
    upload = ingest(actor=actor, patient=patient, source="api", files=[IncomingFile(p.name, p) for p in files])
    return ImagingStudy.objects.get(pk=Instance.objects.filter(upload=upload).first().series.study_id)


@pytest.fixture
def world(reference_rows, actors: Actors, tmp_path: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    a = child(actors.coordinator_a, actors.hospital_a)
    b = child(actors.coordinator_b, actors.hospital_b)
    march = _ingest(actors.coordinator_a, a, tmp_path, 1, date(2024, 3, 1), time(9, 30), with_ct=True)
    june = _ingest(actors.coordinator_a, a, tmp_path, 2, date(2024, 6, 15), time(14, 0), with_ct=False)
    other = _ingest(actors.coordinator_b, b, tmp_path, 3, date(2024, 3, 1), time(9, 30), with_ct=False)
    assert {s.status for s in (march, june, other)} == {ImagingStudy.Status.READY}
    return {"a": a, "b": b, "march": march, "june": june, "other": other}


def _get(actor: Any, url: str, **params: Any) -> Any:
    return api_client(actor).get(url, params)


def _uids(body: list[dict[str, Any]], tag: str) -> list[str]:
    return [item[tag]["Value"][0] for item in body]


# --- dicomweb-client against the live server -------------------------------------------------------------------


def client_for(live_server, user) -> DICOMwebClient:  # type: ignore[no-untyped-def]
    session = Session()
    session.headers["Authorization"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    return DICOMwebClient(url=f"{live_server.url}/dicomweb", session=session)


@pytest.mark.django_db(transaction=True)
def test_every_search_and_retrieve_method_of_dicomweb_client(live_server, actors: Actors, world) -> None:  # type: ignore[no-untyped-def]
    client = client_for(live_server, actors.coordinator_a)
    march, june = world["march"], world["june"]
    pet = Series.objects.get(study=march, modality="PT")
    sop = Instance.objects.filter(series=pet).order_by("instance_number").first()
    study_uid, series_uid, sop_uid = march.study_uid, pet.series_uid, sop.sop_instance_uid

    # QIDO-RS, every level, with the client's own options
    studies = client.search_for_studies(fields=["all"], search_filters={"StudyDate": "20240101-20240430"})
    assert _uids(studies, UID) == [study_uid] and studies[0][MODALITIES]["Value"] == ["CT", "PT"]
    assert studies[0]["00201206"]["Value"] == [2] and studies[0]["00201208"]["Value"] == [8]
    assert len(client.search_for_studies(limit=1, offset=1)) == 1 and len(client.search_for_studies(get_remaining=True)) == 2
    assert _uids(client.search_for_studies(fuzzymatching=True, search_filters={"PatientName": world["a"].study_id[:3].lower()}),
                 UID) == [june.study_uid, study_uid]
    all_series = client.search_for_series(search_filters={"Modality": "PT"})
    assert sorted(_uids(all_series, SERIES_UID)) == sorted(Series.objects.filter(study__in=[march, june], modality="PT")
                                                               .values_list("series_uid", flat=True))
    assert all(ID in s for s in all_series)  # a search of every study's series returns the study attributes too
    assert {s["00080060"]["Value"][0] for s in client.search_for_series(study_uid)} == {"PT", "CT"}
    assert len(client.search_for_instances()) == 12
    assert len(client.search_for_instances(study_uid)) == 8
    in_series = client.search_for_instances(study_uid, series_uid, fields=["AcquisitionDateTime"])
    assert len(in_series) == 4 and in_series[0]["0008002A"]["Value"][0].startswith("20240301")

    # WADO-RS: instances
    assert {ds.SOPInstanceUID for ds in client.retrieve_study(study_uid)} == set(
        Instance.objects.filter(series__study=march).values_list("sop_instance_uid", flat=True))
    assert len(list(client.iter_study(study_uid))) == 8
    assert len(client.retrieve_series(study_uid, series_uid)) == 4 and len(list(client.iter_series(study_uid, series_uid))) == 4
    assert client.retrieve_instance(study_uid, series_uid, sop_uid).SOPInstanceUID == sop_uid

    # metadata at every level, bulk data by URI
    assert len(client.retrieve_study_metadata(study_uid)) == 8
    assert len(client.retrieve_series_metadata(study_uid, series_uid)) == 4
    meta = client.retrieve_instance_metadata(study_uid, series_uid, sop_uid)
    assert meta[SOP_UID]["Value"] == [sop_uid] and "7FE00010" not in meta
    stored = read_dataset(sop)
    pixel_url = f"{live_server.url}/dicomweb/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/bulkdata/7FE00010"
    assert client.retrieve_bulkdata(pixel_url) == [stored.PixelData]
    assert b"".join(client.iter_bulkdata(pixel_url)) == stored.PixelData

    # frames and rendered images
    frames = client.retrieve_instance_frames(study_uid, series_uid, sop_uid, frame_numbers=[1])
    assert frames == [stored.pixel_array.astype(stored.pixel_array.dtype.newbyteorder("<")).tobytes()]
    assert list(client.iter_instance_frames(study_uid, series_uid, sop_uid, frame_numbers=[1])) == frames
    png = client.retrieve_instance_rendered(study_uid, series_uid, sop_uid, media_types=("image/png",))
    assert Image.open(io.BytesIO(png)).format == "PNG" and Image.open(io.BytesIO(png)).size == (16, 16)
    jpeg = client.retrieve_instance_frames_rendered(study_uid, series_uid, sop_uid, [1], media_types=("image/jpeg",),
                                                    params={"viewport": "64,64"})
    assert Image.open(io.BytesIO(jpeg)).format == "JPEG" and Image.open(io.BytesIO(jpeg)).size == (64, 64)
    series_png = client.retrieve_series_rendered(study_uid, series_uid, media_types=("image/png",), params={"window": "0,1"})
    assert np.asarray(Image.open(io.BytesIO(series_png))).max() == 255  # every activity above 1 Bq/ml is white
    thumb = client._session.get(f"{live_server.url}/dicomweb/studies/{study_uid}/thumbnail")
    assert thumb.headers["Content-Type"] == "image/jpeg" and max(Image.open(io.BytesIO(thumb.content)).size) <= 128


@pytest.mark.django_db(transaction=True)
def test_the_client_gets_nothing_of_another_hospital(live_server, actors: Actors, world) -> None:  # type: ignore[no-untyped-def]
    client = client_for(live_server, actors.coordinator_b)
    march = world["march"]
    pet = Series.objects.get(study=march, modality="PT")
    sop = pet.instances.first()
    assert _uids(client.search_for_studies(), UID) == [world["other"].study_uid]
    assert all(s[UID]["Value"] == [world["other"].study_uid] for s in client.search_for_series())
    calls = [lambda: client.search_for_series(march.study_uid), lambda: client.search_for_instances(march.study_uid),
             lambda: client.retrieve_study_metadata(march.study_uid),
             lambda: client.retrieve_instance_frames(march.study_uid, pet.series_uid, sop.sop_instance_uid, [1]),
             lambda: client.retrieve_series_rendered(march.study_uid, pet.series_uid)]
    for call in calls:
        with pytest.raises(HTTPError, match="404"):
            call()


# --- matching semantics ----------------------------------------------------------------------------------------


def test_uid_lists_wildcards_and_case(actors: Actors, world) -> None:  # type: ignore[no-untyped-def]
    march, june, a = world["march"], world["june"], actors.coordinator_a
    both = f"{march.study_uid},{june.study_uid}"
    assert sorted(_uids(_get(a, "/dicomweb/studies", StudyInstanceUID=both).json(), UID)) == sorted([march.study_uid, june.study_uid])
    assert _uids(_get(a, "/dicomweb/studies", StudyInstanceUID=f"{june.study_uid}\\1.2.3").json(), UID) == [june.study_uid]
    study_id = world["a"].study_id
    assert len(_get(a, "/dicomweb/studies", PatientID=study_id[:-1] + "?").json()) == 2
    assert len(_get(a, "/dicomweb/studies", PatientID=study_id[:2] + "*").json()) == 2
    assert _get(a, "/dicomweb/studies", PatientID=study_id.lower()).json() == []  # LO matches case-sensitively
    assert len(_get(a, "/dicomweb/studies", PatientName=study_id.lower()).json()) == 2  # PN does not
    assert _get(a, "/dicomweb/studies", PatientID=study_id[:3]).json() == []  # no prefix without fuzzy matching
    assert len(_get(a, "/dicomweb/studies", PatientID=study_id[:3].lower(), fuzzymatching="true").json()) == 2
    assert len(_get(a, "/dicomweb/studies", PatientID="").json()) == 2  # universal matching
    assert _uids(_get(a, "/dicomweb/studies", ModalitiesInStudy="CT").json(), UID) == [march.study_uid]
    assert len(_get(a, "/dicomweb/studies", ModalitiesInStudy="CT\\PT").json()) == 2
    assert _get(a, "/dicomweb/studies", AccessionNumber="A1").json() == []  # not kept by de-identification


def test_date_and_time_ranges(actors: Actors, world) -> None:  # type: ignore[no-untyped-def]
    a, march, june = actors.coordinator_a, world["march"], world["june"]
    assert _uids(_get(a, "/dicomweb/studies", StudyDate="20240301").json(), UID) == [march.study_uid]
    assert _uids(_get(a, "/dicomweb/studies", StudyDate="20240601-").json(), UID) == [june.study_uid]
    assert _uids(_get(a, "/dicomweb/studies", StudyDate="-20240301").json(), UID) == [march.study_uid]
    assert len(_get(a, "/dicomweb/studies", StudyDate="20240301-20240615").json()) == 2
    assert _get(a, "/dicomweb/studies", StudyDate="20240302-20240614").json() == []
    acquired = sorted({i.acquisition[8:12] for i in Instance.objects.filter(series__study=march, series__modality="PT")})
    assert acquired and acquired[0] >= "0930"
    pet_march = _get(a, "/dicomweb/instances", AcquisitionTime=f"{acquired[0]}-{acquired[-1]}", Modality="PT").json()
    assert {i[UID]["Value"][0] for i in pet_march} == {march.study_uid}
    assert _get(a, "/dicomweb/instances", AcquisitionTime="1500-", StudyInstanceUID=march.study_uid).json() == []
    afternoon = _get(a, "/dicomweb/instances", AcquisitionDateTime="202406151400-20240615235959").json()
    assert {i[UID]["Value"][0] for i in afternoon} == {june.study_uid}
    assert len(_get(a, "/dicomweb/instances", AcquisitionDate="20240615").json()) == 4
    response = _get(a, "/dicomweb/studies", StudyDate="2024-03-01")
    assert response.status_code == 400 and response.json()["code"] == "invalid_query"


def test_includefield_limit_offset_and_unsupported_keys(actors: Actors, world) -> None:  # type: ignore[no-untyped-def]
    a = actors.coordinator_a
    default = _get(a, "/dicomweb/studies").json()[0]
    assert "00101030" not in default and {PN, ID, DATE, UID, MODALITIES, "00081190", "00201208"} <= default.keys()
    every = _get(a, "/dicomweb/studies", includefield="all").json()[0]
    assert every["00101030"]["Value"] == [18.0] and "00081030" in every
    assert "00101030" in _get(a, "/dicomweb/studies", includefield="PatientWeight").json()[0]
    assert "00101030" in _get(a, "/dicomweb/studies", includefield="00101030,StudyDescription").json()[0]
    first = _get(a, "/dicomweb/studies", limit=1)
    assert len(first.json()) == 1 and "additional results" in first["Warning"]
    second = _get(a, "/dicomweb/studies", limit=1, offset=1)
    assert len(second.json()) == 1 and "Warning" not in second and second.json() != first.json()
    ignored = _get(a, "/dicomweb/studies", OperatorsName="X")
    assert len(ignored.json()) == 2 and ignored["Warning"].startswith('299 nbnm "OperatorsName is not supported')
    for bad in ({"NotAnAttribute": "1"}, {"limit": "0"}, {"offset": "x"}, {"fuzzymatching": "maybe"}, {"SeriesNumber": "x"}):
        assert _get(a, "/dicomweb/series", **bad).status_code == 400, bad


def test_quarantined_instances_and_held_studies_are_not_published(actors: Actors, world) -> None:  # type: ignore[no-untyped-def]
    a, march, june = actors.coordinator_a, world["march"], world["june"]
    ct = Series.objects.get(study=march, modality="CT")
    Instance.objects.filter(series=ct).update(quarantine_reason="burned-in annotation")
    ImagingStudy.objects.filter(pk=june.pk).update(status=ImagingStudy.Status.ON_HOLD)
    [study] = _get(a, "/dicomweb/studies", includefield="all").json()
    assert study[MODALITIES]["Value"] == ["PT"] and study["00201206"]["Value"] == [1] and study["00201208"]["Value"] == [4]
    assert _uids(_get(a, f"/dicomweb/studies/{march.study_uid}/series").json(), SERIES_UID) == [
        Series.objects.get(study=march, modality="PT").series_uid]
    assert len(_get(a, "/dicomweb/instances").json()) == 4
    assert _get(a, f"/dicomweb/studies/{june.study_uid}/instances").status_code == 404
    ct_sop = ct.instances.first().sop_instance_uid
    assert _get(a, f"/dicomweb/studies/{march.study_uid}/series/{ct.series_uid}/instances/{ct_sop}/rendered").status_code == 404


@pytest.mark.parametrize(("url", "limit"), [("/dicomweb/studies", 9), ("/dicomweb/series", 9), ("/dicomweb/instances", 9)])
def test_query_count_does_not_grow_with_results(actors: Actors, world, url: str, limit: int,  # type: ignore[no-untyped-def]
                                                django_assert_max_num_queries) -> None:
    client = api_client(actors.coordinator_a)
    client.get(url)  # warm the session
    # 9 = session and user (2), memberships (2), the page (1), the counts of every study on it (1), session save (3)
    with django_assert_max_num_queries(limit):
        assert client.get(url, {"includefield": "all"}).status_code == 200


def test_rendering_parameters(actors: Actors, world) -> None:  # type: ignore[no-untyped-def]
    a, march = actors.coordinator_a, world["march"]
    ct = Series.objects.get(study=march, modality="CT")
    sop = ct.instances.order_by("instance_number").first()
    url = f"/dicomweb/studies/{march.study_uid}/series/{ct.series_uid}/instances/{sop.sop_instance_uid}/rendered"
    hu = read_dataset(sop).pixel_array.astype(np.float32) * float(read_dataset(sop).RescaleSlope) + float(read_dataset(sop).RescaleIntercept)

    def grey(**params: Any) -> np.ndarray:
        response = _get(a, url, accept="image/png", **params)
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        return np.asarray(Image.open(io.BytesIO(response.content)))

    bone = grey(window="500,1000,linear-exact")
    expected = np.clip((hu - 0.0) / 1000 * 255, 0, 255).astype(np.uint8)
    assert np.abs(bone.astype(int) - expected.astype(int)).max() <= 1
    assert not np.array_equal(grey(window="40,400"), bone) and grey(window="40,400,sigmoid").shape == (16, 16)
    assert grey(viewport="32,8").shape == (8, 8)  # fits the viewport, square pixels kept
    assert _get(a, url, accept="image/gif").status_code == 406
    for bad in ({"window": "40"}, {"window": "40,0"}, {"window": "40,400,cubic"}, {"viewport": "0,10"}, {"quality": "101"}):
        response = _get(a, url, **bad)
        assert response.status_code == 400 and list(response.json()["fields"]) == list(bad), bad
    frames = url.replace("/rendered", "/frames/2/rendered")
    assert _get(a, frames).status_code == 400  # a single-frame image has frame 1 only


def test_frames_of_a_multiframe_instance(actors: Actors, reference_rows, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    pl = like(patient)
    nm, _ct = synthetic.spect_ct_study(patient=pl, seed=5, n_slices=6, rows=16, cols=16)
    files = synthetic.write_series(nm, tmp_path)
    ingest(actor=actors.coordinator_a, patient=patient, source="api", files=[IncomingFile(files[0].name, files[0])])
    inst = Instance.objects.get(series__modality="NM")
    stack = pydicom.dcmread(files[0]).pixel_array
    url = (f"/dicomweb/studies/{inst.series.study.study_uid}/series/{inst.series.series_uid}"
           f"/instances/{inst.sop_instance_uid}/frames/3,1")
    response = _get(actors.coordinator_a, url)
    assert response.status_code == 200 and response["Content-Type"].startswith('multipart/related; type="application/octet-stream"')
    assert stack[2].tobytes() in response.content and stack[0].tobytes() in response.content
    assert response.content.index(stack[2].tobytes()) < response.content.index(stack[0].tobytes())
    assert _get(actors.coordinator_a, url.replace("3,1", "7")).status_code == 400
