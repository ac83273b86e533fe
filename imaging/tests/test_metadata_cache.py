"""The WADO-RS metadata cache (imaging/dicomweb/metadata_cache.py): the cached answer is the files' answer, for the
ordinary /dicomweb metadata and for a blinded case's allow-listed metadata; a warm series costs one storage read; an
instance new in the series is read from its file and added.

Real synthetic PET, CT and multi-frame NM (SPECT) series are ingested and run through the pipeline (which writes the
cache at its end). Storage reads are counted by wrapping imaging.storage.read (the one function every stored read goes
through) with a counter that calls it: nothing is replaced.
"""
import io
import json
import struct
from typing import Any

import pydicom
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pydicom.dataset import Dataset, FileMetaDataset

from conftest import Actors, api_client
from imaging import storage, synthetic
from imaging.dicomweb import metadata_cache, wado
from imaging.models import ImagingStudy, Instance, Series
from imaging.reading import dicomweb as case_dw
from imaging.services.ingest import IncomingFile, ingest
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done
from imaging.tests.helpers import child, like
from imaging.volume import published_instances, read_dataset

pytestmark = pytest.mark.usefixtures("eager")
BASE = "http://testserver/dicomweb"


@pytest.fixture
def study(actors: Actors, tmp_path, django_capture_on_commit_callbacks) -> ImagingStudy:  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    pl = like(patient)
    ctx = synthetic.study_context(patient=pl, seed=23)
    datasets = [*synthetic.pet_series(tracer="F18_FDG", patient=pl, seed=23, n_slices=6, rows=16, cols=16, study=ctx),
                *synthetic.ct_series(patient=pl, seed=23, n_slices=4, rows=16, cols=16, study=ctx),
                *synthetic.mibg_spect_series(patient=pl, seed=23, n_slices=8, rows=16, cols=16, study=ctx)]
    found = ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / "s", django_capture_on_commit_callbacks)
    pipeline_done(found)
    return found


class Reads:
    """Counts imaging.storage.read calls (the real function still does the reading)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.keys: list[str] = []
        real = storage.read

        def counting(key: str) -> bytes:
            self.keys.append(key)
            return real(key)

        monkeypatch.setattr(storage, "read", counting)


def _series(study: ImagingStudy, modality: str) -> Series:
    return study.series.get(modality=modality)


def _roundtrip(body: Any) -> Any:
    return json.loads(json.dumps(body))


@pytest.mark.parametrize("modality", ["PT", "CT", "NM"])
def test_cached_metadata_equals_the_files_answer(study, actors, modality, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    series = _series(study, modality)
    qs = Instance.objects.filter(series=series)
    assert storage.read_if_present(metadata_cache.blob_key(series.pk)) is not None  # written by the pipeline run
    from_files = _roundtrip(wado.metadata_from_files(qs, BASE))
    assert len(from_files) == (8 // 8 if modality == "NM" else qs.count())
    if modality == "NM":
        assert from_files[0]["00280008"]["Value"] == [8]  # NumberOfFrames: the multi-frame instance
        assert from_files[0]["00540022"]["vr"] == "SQ"  # DetectorInformationSequence, kept whole
    reads = Reads(monkeypatch)
    assert _roundtrip(wado.metadata(qs, BASE)) == from_files
    assert reads.keys == [metadata_cache.blob_key(series.pk)]
    # and through the API, as the viewer asks for it
    response = api_client(actors.coordinator_a).get(
        reverse("dicomweb-series-metadata", args=[study.study_uid, series.series_uid]))
    assert response.status_code == 200
    assert json.loads(response.content) == from_files


def test_bulk_data_uris_are_made_absolute_per_request(study) -> None:  # type: ignore[no-untyped-def]
    header = {"00091010": {"vr": "OB", "BulkDataURI": "bulkdata/00091010"},
              "00540022": {"vr": "SQ", "Value": [{"00091011": {"vr": "OB", "BulkDataURI": "bulkdata/00540022/0/00091011"}}]}}
    out = metadata_cache.with_base(header, "http://h/x")
    assert out["00091010"]["BulkDataURI"] == "http://h/x/bulkdata/00091010"
    assert out["00540022"]["Value"][0]["00091011"]["BulkDataURI"] == "http://h/x/bulkdata/00540022/0/00091011"
    assert header["00091010"]["BulkDataURI"] == "bulkdata/00091010"  # the cached header is not changed
    # a stored instance with a long binary value: the relative path in the cache, the absolute one in the answer
    inst = Instance.objects.filter(series__study=study, series__modality="PT").first()
    ds = read_dataset(inst, pixels=False)
    ds.add_new(0x00091010, "OB", b"\x01" * 2048)
    header = metadata_cache.header_of(ds)
    assert header["00091010"] == {"vr": "OB", "BulkDataURI": "bulkdata/00091010"}
    # served through wado.metadata from a blob that holds it: absolute under that instance's URL, the others as cached
    qs = Instance.objects.filter(series=inst.series)
    blob = json.loads(storage.read(metadata_cache.blob_key(inst.series_id)))
    assert blob["bulk"] == []  # the stored synthetic files have no long binary value
    blob["headers"][inst.sha256], blob["bulk"] = header, [inst.sha256]
    storage.overwrite(metadata_cache.blob_key(inst.series_id), json.dumps(blob).encode())
    body = {item["00080018"]["Value"][0]: item for item in wado.metadata(qs, BASE)}
    assert body[inst.sop_instance_uid]["00091010"]["BulkDataURI"] == f"{wado.instance_url(BASE, inst)}/bulkdata/00091010"
    assert sum("00091010" in item for item in body.values()) == 1


def test_a_new_instance_in_the_series_is_read_and_added(actors, tmp_path, django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
                                                        monkeypatch) -> None:
    patient = child(actors.coordinator_a, actors.hospital_a)
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=31, n_slices=6, rows=16, cols=16)
    study = ingest_datasets(actors.coordinator_a, patient, datasets[:5], tmp_path / "a", django_capture_on_commit_callbacks)
    series = study.series.get()
    qs = Instance.objects.filter(series=series)
    assert len(wado.metadata(qs, BASE)) == 5
    paths = synthetic.write_series(datasets[5:], tmp_path / "b")
    ingest(actor=actors.coordinator_a, patient=patient, source="api",  # its pipeline not run: the cache is not warmed
           files=[IncomingFile(p.name, p) for p in paths])
    new = qs.order_by("-id").first()
    assert qs.count() == 6
    reads = Reads(monkeypatch)
    body = wado.metadata(qs, BASE)
    assert reads.keys == [metadata_cache.blob_key(series.pk), new.storage_key]  # the blob, then only the new file
    assert _roundtrip(body) == _roundtrip(wado.metadata_from_files(qs, BASE))
    assert new.sha256 in json.loads(storage.read(metadata_cache.blob_key(series.pk)))["headers"]
    reads.keys.clear()
    wado.metadata(qs, BASE)
    assert reads.keys == [metadata_cache.blob_key(series.pk)]


def test_a_damaged_or_missing_blob_is_rebuilt(study, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    series = _series(study, "PT")
    qs = Instance.objects.filter(series=series)
    storage.overwrite(metadata_cache.blob_key(series.pk), b"{not json")
    assert _roundtrip(wado.metadata(qs, BASE)) == _roundtrip(wado.metadata_from_files(qs, BASE))
    storage.delete(metadata_cache.blob_key(series.pk))
    reads = Reads(monkeypatch)
    wado.metadata(qs, BASE)
    assert len(reads.keys) == 1 + qs.count()  # the blob tried, every file read once
    reads.keys.clear()
    wado.metadata(qs, BASE)
    assert reads.keys == [metadata_cache.blob_key(series.pk)]


def test_series_metadata_query_count_is_pinned(study, actors) -> None:  # type: ignore[no-untyped-def]
    client = api_client(actors.coordinator_a)
    counts = []
    for modality in ("CT", "PT"):  # 4 and 6 instances: the same number of queries
        series = _series(study, modality)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("dicomweb-series-metadata", args=[study.study_uid, series.series_uid])).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1] <= 8, counts


class _Names:
    """Pseudonyms of a made-up case (the real class needs a reading case; the JSON path only calls these)."""

    study_uid, series_uid = "2.25.1", "2.25.2"

    def of(self, uid: str) -> str:
        return case_dw._pseudonym(b"k" * 32, uid)


@pytest.mark.parametrize("modality,factor", [("PT", 0.00071), ("PT", None), ("CT", None), ("NM", None), ("NM", 2.5)])
def test_blinded_json_from_the_cache_equals_the_blinded_dataset(study, modality, factor) -> None:  # type: ignore[no-untyped-def]
    names = _Names()
    for inst in Instance.objects.filter(series=_series(study, modality)):
        # two reads: blinded_dataset shares elements with the dataset it is given, and its rescale writes reach them
        got = case_dw.blinded_json(metadata_cache.header_of(read_dataset(inst, pixels=False)), names, factor)  # type: ignore[arg-type]
        expected = case_dw.blinded_dataset(read_dataset(inst, pixels=False), names, factor).to_json_dict()  # type: ignore[arg-type]
        assert _roundtrip(got) == _roundtrip(expected)
        assert list(got) == sorted(got)
        if factor is not None:
            assert got["00541001"]["Value"] == ["GML"] and "00281053" in got  # Units, RescaleSlope


def test_the_blob_is_pydicom_s_conversion_byte_for_byte(study) -> None:  # type: ignore[no-untyped-def]
    """The blob the pipeline writes (each element converted once per series) is what json.dumps of every whole header
    converted by pydicom gives, for PET, CT and multi-frame NM. (Written again here: the media folder outlives a test's
    database, and a blob of the same series id may hold another test's instances besides.)"""
    for modality in ("PT", "CT", "NM"):
        series = _series(study, modality)
        storage.delete(metadata_cache.blob_key(series.pk))
        metadata_cache.warm(series)
        expected = {inst.sha256: metadata_cache.header_of(read_dataset(inst, pixels=False))
                    for inst in published_instances(series)}
        blob = {"v": metadata_cache.VERSION, "headers": expected, "bulk": []}
        assert storage.read(metadata_cache.blob_key(series.pk)) == json.dumps(blob, separators=(",", ":")).encode()


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    """One explicit VR little endian element (a 2-byte length: the VRs used below)."""
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _file(*elements: bytes, syntax: str = pydicom.uid.ExplicitVRLittleEndian) -> bytes:
    """A stored file: preamble and file meta written by pydicom, then these elements as they are."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.PositronEmissionTomographyImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = "2.25.1"
    ds.file_meta.TransferSyntaxUID = syntax
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue() + b"".join(elements)


def _converted(data: bytes, converter: Any = None) -> Any:
    return (converter or metadata_cache._Converter()).header(data)


def _pydicom(data: bytes) -> Any:
    return metadata_cache.header_of(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True))


VALUES = [  # (VR, value bytes): plain ones converted directly, the others by pydicom; both must be pydicom's answer
    (b"DS", b"1.5 "), (b"DS", b" -2.5e-3"), (b"DS", b"1\\2.0\\3 "), (b"DS", b"+.5"), (b"DS", b"7."), (b"DS", b"1E+2"),
    (b"DS", b"4.25\x00\x00"), (b"DS", b"-0"), (b"DS", b""), (b"DS", b"  "), (b"DS", b"\t1.5"),
    (b"IS", b"007 "), (b"IS", b" -12"), (b"IS", b"1.0 "), (b"IS", b"1\\2 "), (b"IS", b"+3"), (b"IS", b""),
    (b"IS", b"2147483648"),
    (b"UI", b"1.2.840.10008.1.2\x00"), (b"UI", b"1.2\\3.4 "), (b"UI", b""), (b"UI", b"1.2.x\x00"),
    (b"US", b"\x01\x00"), (b"US", b"\x01\x00\xff\xff"), (b"US", b""),
]


@pytest.mark.filterwarnings("ignore:Invalid value for VR")  # pydicom's, on the invalid values it is given here
@pytest.mark.parametrize("vr,value", VALUES)
def test_each_value_is_converted_as_pydicom_converts_it(vr, value) -> None:  # type: ignore[no-untyped-def]
    data = _file(_element(0x00080005, b"CS", b"ISO_IR 192"), _element(0x00181030, b"LO", b"Whole body"),
                 _element(0x00281053 if vr == b"DS" else 0x00200013 if vr == b"IS" else 0x00080018 if vr == b"UI"
                          else 0x00541330, vr, value))
    assert metadata_cache._elements(data) is not None  # walked, not read by pydicom
    assert _roundtrip(_converted(data).value) == _roundtrip(_pydicom(data))


def test_unusual_files_give_pydicom_s_answer() -> None:
    """A character set decides the text (two files with the same bytes under two character sets, one converter); a
    private element, a long binary value (a BulkDataURI) at the top and inside a sequence; a UN element, at the top or
    in an item, and an implicit VR file, which pydicom reads whole."""
    converter = metadata_cache._Converter()
    name = _element(0x00100010, b"PN", "Zhāng^Wěi".encode())
    utf8 = _file(_element(0x00080005, b"CS", b"ISO_IR 192"), name)
    latin = _file(_element(0x00080005, b"CS", b"ISO_IR 100"), name)
    assert _converted(utf8, converter).value == _pydicom(utf8)
    assert _converted(latin, converter).value == _pydicom(latin)
    assert _converted(utf8, converter).value != _converted(latin, converter).value

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "张^伟"
    block = ds.private_block(0x0009, "NBNM TEST", create=True)
    block.add_new(0x01, "LO", "private value")
    block.add_new(0x02, "OB", b"\x01" * 2048)
    item = Dataset()
    item.add_new(0x00091010, "OB", b"\x02" * 2048)
    item.CodeValue = "113100"
    ds.add_new(0x00540016, "SQ", [item])
    ds.SOPInstanceUID = "2.25.2"
    ds.ImagePositionPatient = [-179.0625, -179.0625, 1.5]
    ds.BitsAllocated = 16
    ds.add_new(0x7FE00010, "OW", b"\x00" * 8)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.PositronEmissionTomographyImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = "2.25.2"
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    for explicit in (True, False):
        out = io.BytesIO()
        if not explicit:
            ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
        ds.save_as(out, enforce_file_format=True)
        data = out.getvalue()
        assert (metadata_cache._elements(data) is not None) == explicit
        converted = _converted(data, converter)
        assert converted.value == _pydicom(data) and converted.bulk
        assert converted.value["00091002"]["BulkDataURI"] == "bulkdata/00091002"  # its VR is UN when implicit
        assert converted.value["00540016"]["Value"][0]["00091010"]["BulkDataURI"] == "bulkdata/00540016/0/00091010"
        assert "7FE00010" not in converted.value

    unknown = _element(0x00181030, b"UN", b"") + struct.pack("<I", 4) + b"abcd"  # UN: 2 reserved bytes, 4-byte length
    undefined = struct.pack("<I", 0xFFFFFFFF)
    in_item = (_element(0x00540016, b"SQ", b"") + undefined + struct.pack("<HH", 0xFFFE, 0xE000) + undefined + unknown
               + struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    for element in (unknown, in_item):
        data = _file(_element(0x00080005, b"CS", b"ISO_IR 100"), element)
        assert metadata_cache._elements(data) is None
        assert _converted(data).value == _pydicom(data)
