"""imaging.dicom.validate on real files and a corpus of bad input (no database)."""
import io
import os
from datetime import date
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from imaging.dicom import validate
from imaging.dicom.validate import DicomRejected, check, inspect, patient_characteristics, read_dataset

DATA = Path(__file__).parent / "data"
PET_1 = DATA / "tcia-acrin-flt-breast-pet-1.dcm"
PET_2 = DATA / "tcia-acrin-flt-breast-pet-2.dcm"
MR = DATA / "tcia-prostate-mri.dcm"
CT = DATA / "cornerstone-ct-multiframe.dcm"
DEFLATED_SC = DATA / "cornerstone-deflated-sc.dcm"
LIMIT = 16 * 1024 * 1024


def identifiers(path: Path) -> list[str]:
    """The patient's name and ID in a sample: they must never appear in a reason."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return [v for v in (str(ds.get("PatientName", "")), str(ds.get("PatientID", ""))) if len(v) >= 3]


def as_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------------- real samples
@pytest.mark.parametrize("path", [PET_1, PET_2], ids=["pet-1", "pet-2"])
def test_real_pet_files_accepted_as_pt(path: Path) -> None:
    result, ds = inspect(path, max_bytes=LIMIT)
    assert result.accepted and result.code == "ok" and result.reason == ""
    assert result.modality == "PT"
    assert result.quarantine is None and not result.quarantined
    assert result.sop_class_uid == "1.2.840.10008.5.1.4.1.1.128"
    assert result.sop_instance_uid == ds.SOPInstanceUID
    assert result.study_uid == ds.StudyInstanceUID and result.series_uid == ds.SeriesInstanceUID
    assert result.transfer_syntax_uid == ExplicitVRLittleEndian


def test_mr_refused_with_a_reason_naming_mr() -> None:
    result, ds = inspect(MR, max_bytes=LIMIT)
    assert not result.accepted and ds is None
    assert result.code == "modality_not_allowed"
    assert result.reason == "MR is not a nuclear-medicine modality; allowed: PT, NM, CT, SR (dose reports)."
    for value in identifiers(MR):
        assert value not in result.reason


def test_deflated_secondary_capture_read_and_quarantined() -> None:
    ds = read_dataset(DEFLATED_SC)
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1.99"
    assert len(ds.PixelData) == 512 * 512  # inflated
    result = check(ds, size_bytes=DEFLATED_SC.stat().st_size, max_bytes=LIMIT)
    assert result.accepted and result.modality == "OT"
    assert result.quarantine_code == "secondary_capture" and result.quarantined
    assert "Secondary Capture" in result.quarantine


def test_multiframe_ct_accepted() -> None:
    result, ds = inspect(CT, max_bytes=LIMIT)
    assert result.accepted and result.modality == "CT" and result.quarantine is None
    assert int(ds.NumberOfFrames) == 2


def test_read_dataset_accepts_a_path_bytes_or_an_open_file() -> None:
    data = PET_1.read_bytes()
    with PET_1.open("rb") as fh:
        from_file = read_dataset(fh)
        assert not fh.closed  # the caller's file is the caller's to close
    for ds in (read_dataset(PET_1), read_dataset(str(PET_1)), read_dataset(data), from_file):
        assert ds.SOPInstanceUID == from_file.SOPInstanceUID and ds.PixelData == from_file.PixelData


# ------------------------------------------------------------------------------------- bad input
def test_truncated_file_cut_in_half(tmp_path: Path) -> None:
    data = PET_1.read_bytes()
    path = write(tmp_path, "half.dcm", data[: len(data) // 2])
    with pytest.raises(DicomRejected) as caught:
        read_dataset(path)
    assert caught.value.code == "truncated" and "truncated" in caught.value.reason
    result, ds = inspect(path, max_bytes=LIMIT)
    assert (result.accepted, result.code, ds) == (False, "truncated", None)


@pytest.mark.parametrize("cut", [200, 300, 1000, 1500, 2400, 5000, -1])
def test_truncated_anywhere_is_never_accepted(cut: int) -> None:
    data = PET_1.read_bytes()
    result, _ = inspect(io.BytesIO(data[:cut]), max_bytes=LIMIT)
    assert not result.accepted
    assert result.code in ("truncated", "missing_pixel_data")


def test_random_bytes_named_dcm_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "random.dcm", os.urandom(4096))
    result, ds = inspect(path, max_bytes=LIMIT)
    assert (result.accepted, result.code, ds) == (False, "not_dicom", None)
    assert "not a DICOM file" in result.reason


@pytest.mark.parametrize("data", [
    b"\x00" * 128 + b"DICM" + os.urandom(2048),  # the prefix, then noise
    b"\x08\x00\x05\x00CS\x0a\x00" + os.urandom(2048),  # a plausible first element, then noise
    b"\x08\x00\x16\x00" + os.urandom(2048),  # implicit VR look-alike
], ids=["dicm-then-noise", "explicit-header-then-noise", "implicit-header-then-noise"])
def test_noise_behind_a_plausible_header_rejected(data: bytes) -> None:
    result, _ = inspect(io.BytesIO(data), max_bytes=LIMIT)
    assert not result.accepted and result.code in ("not_dicom", "corrupt", "truncated")


def test_empty_file_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.dcm", b"")
    result, _ = inspect(path, max_bytes=LIMIT)
    assert (result.accepted, result.code, result.reason) == (False, "empty", "The file is empty.")
    with pytest.raises(DicomRejected) as caught:
        read_dataset(path)
    assert caught.value.code == "empty"


def test_file_over_the_size_limit_rejected_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, "big.dcm", PET_1.read_bytes())
    result, ds = inspect(path, max_bytes=10_000)
    assert (result.accepted, result.code, ds) == (False, "too_large", None)
    assert "limit is 9.8 KB" in result.reason
    # check() applies the same limit to a dataset read elsewhere
    assert check(read_dataset(path), size_bytes=path.stat().st_size, max_bytes=10_000).code == "too_large"


def test_deflated_dataset_expanding_past_the_limit_rejected() -> None:
    result, _ = inspect(DEFLATED_SC, max_bytes=LIMIT, max_inflated_bytes=100_000)
    assert result.code == "too_large" and "expands beyond" in result.reason


@pytest.mark.parametrize("keyword,tag", [("SOPInstanceUID", "(0008,0018)"), ("StudyInstanceUID", "(0020,000D)"),
                                         ("SeriesInstanceUID", "(0020,000E)"), ("SOPClassUID", "(0008,0016)")])
def test_missing_uid_rejected_naming_it(tmp_path: Path, keyword: str, tag: str) -> None:
    ds = pydicom.dcmread(PET_1)
    del ds[keyword]
    path = write(tmp_path, "no-uid.dcm", as_bytes(ds))
    result, _ = inspect(path, max_bytes=LIMIT)
    assert (result.accepted, result.code) == (False, "missing_uid")
    assert f"{keyword} {tag}" in result.reason
    for value in identifiers(PET_1):
        assert value not in result.reason


@pytest.mark.filterwarnings("ignore:Invalid value for VR")
def test_invalid_uid_rejected() -> None:
    ds = pydicom.dcmread(PET_1)
    ds.StudyInstanceUID = "1.2.3.abc"
    result = check(ds, size_bytes=1, max_bytes=LIMIT)
    assert result.code == "invalid_uid" and "StudyInstanceUID" in result.reason


def test_image_without_pixel_data_rejected() -> None:
    ds = pydicom.dcmread(PET_1)
    del ds.PixelData
    result = check(ds, size_bytes=1, max_bytes=LIMIT)
    assert result.code == "missing_pixel_data"


def test_pixel_data_shorter_than_the_image_is_truncated() -> None:
    ds = pydicom.dcmread(PET_1)
    ds.PixelData = ds.PixelData[:1000]
    result = check(ds, size_bytes=1, max_bytes=LIMIT)
    assert result.code == "truncated" and "need 56448" in result.reason


def test_missing_modality_rejected() -> None:
    ds = pydicom.dcmread(PET_1)
    del ds.Modality
    assert check(ds, size_bytes=1, max_bytes=LIMIT).code == "missing_modality"


@pytest.mark.filterwarnings("ignore:Invalid value for VR")
def test_modality_value_not_echoed_when_it_is_not_a_code() -> None:
    ds = pydicom.dcmread(PET_1)
    ds.Modality = "Doe^Jane"
    result = check(ds, size_bytes=1, max_bytes=LIMIT)
    assert result.code == "modality_not_allowed" and "Doe" not in result.reason


# ------------------------------------------------------------------------------------- modalities
def minimal(sop_class: str, modality: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = modality
    return ds


def with_content(ds: Dataset) -> Dataset:
    item = Dataset()
    item.ValueType, item.TextValue = "TEXT", "x"
    ds.ContentSequence = [item]
    return ds


@pytest.mark.parametrize("sop_class", sorted(validate.RADIATION_DOSE_SR_CLASSES))
def test_dose_report_sr_accepted(sop_class: str) -> None:
    result = check(with_content(minimal(sop_class, "SR")), size_bytes=1, max_bytes=LIMIT)
    assert result.accepted and result.modality == "SR" and result.quarantine is None


def test_dose_report_without_content_refused() -> None:
    result = check(minimal("1.2.840.10008.5.1.4.1.1.88.67", "SR"), size_bytes=1, max_bytes=LIMIT)
    assert result.code == "missing_content"


def test_zero_padding_after_the_last_element_is_not_truncation() -> None:
    result, ds = inspect(io.BytesIO(PET_1.read_bytes() + b"\x00" * 3), max_bytes=LIMIT)
    assert result.accepted
    assert inspect(io.BytesIO(PET_1.read_bytes() + b"\x08\x00\x05"), max_bytes=LIMIT)[0].code == "truncated"


def test_other_sr_refused() -> None:
    result = check(minimal("1.2.840.10008.5.1.4.1.1.88.11", "SR"), size_bytes=1, max_bytes=LIMIT)  # Basic Text SR
    assert result.code == "modality_not_allowed"
    assert "radiation dose report" in result.reason and "Basic Text SR" in result.reason


def test_nm_image_accepted() -> None:
    ds = minimal("1.2.840.10008.5.1.4.1.1.20", "NM")
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel, ds.BitsAllocated = 1, 16
    ds.PixelData = b"\x00" * 32
    assert check(ds, size_bytes=1, max_bytes=LIMIT).accepted


def test_secondary_capture_of_another_modality_refused() -> None:
    result = check(minimal("1.2.840.10008.5.1.4.1.1.7", "MR"), size_bytes=1, max_bytes=LIMIT)
    assert result.code == "modality_not_allowed"


def test_burned_in_annotation_yes_is_quarantined(tmp_path: Path) -> None:
    ds = pydicom.dcmread(PET_1)
    ds.BurnedInAnnotation = "YES"
    result, _ = inspect(write(tmp_path, "burned.dcm", as_bytes(ds)), max_bytes=LIMIT)
    assert result.accepted and result.modality == "PT"
    assert result.quarantine_code == "burned_in_annotation" and "Burned In Annotation" in result.quarantine


# ------------------------------------------------------------------------------------- bare datasets
def test_bare_dataset_without_file_meta_is_read(tmp_path: Path) -> None:
    ds = pydicom.dcmread(PET_1)
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, implicit_vr=False, little_endian=True)  # no preamble, no File Meta
    data = buffer.getvalue()
    body = data[data.index(b"\x08\x00\x05\x00"):]  # from the first dataset element on
    result, read = inspect(write(tmp_path, "bare.dcm", body), max_bytes=LIMIT)
    assert result.accepted and result.modality == "PT"
    assert read.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert read.PixelData == ds.PixelData


def test_file_meta_without_preamble_is_read(tmp_path: Path) -> None:
    data = PET_1.read_bytes()[132:]  # no preamble, no DICM: starts with the File Meta group
    ds = read_dataset(write(tmp_path, "no-preamble.dcm", data))
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian and ds.Modality == "PT"


def test_pydicom_bare_test_file_read_then_refused_by_modality() -> None:
    ds = read_dataset(get_testdata_file("ExplVR_LitEndNoMeta.dcm"))
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert check(ds, size_bytes=1, max_bytes=LIMIT).code == "modality_not_allowed"  # an RT plan


def test_truncated_test_file_from_pydicom() -> None:
    result, _ = inspect(get_testdata_file("MR_truncated.dcm"), max_bytes=LIMIT)
    assert result.code == "truncated"


# ------------------------------------------------------------------------------------- patient
def test_patient_characteristics_of_the_pet_sample() -> None:
    chars = patient_characteristics(pydicom.dcmread(PET_1))
    assert chars["sex"] == "F" and chars["age"] == "038Y" and chars["age_years"] == 38.0
    assert chars["weight_kg"] == pytest.approx(69.7344)
    assert chars["birth_date"] is None and chars["size_m"] is None  # empty in the file
    assert chars["study_date"] == date(1960, 6, 14)


def test_patient_characteristics_of_the_ct_sample() -> None:
    chars = patient_characteristics(pydicom.dcmread(CT, stop_before_pixels=True))
    assert chars["birth_date"] == date(1950, 7, 4) and chars["sex"] == "M"
    assert chars["size_m"] == pytest.approx(1.6) and chars["weight_kg"] == 75.0


@pytest.mark.parametrize("age,years", [("004Y", 4.0), ("018M", 1.5), ("006W", 42 / 365.25), ("010D", 10 / 365.25)])
def test_patient_age_units(age: str, years: float) -> None:
    ds = Dataset()
    ds.PatientAge = age
    chars = patient_characteristics(ds)
    assert chars["age"] == age and chars["age_years"] == pytest.approx(years)


@pytest.mark.filterwarnings("ignore:Invalid value for VR")
def test_malformed_characteristics_are_none() -> None:
    ds = Dataset()
    ds.PatientSex, ds.PatientAge, ds.PatientBirthDate = "X", "4 years", "20191340"
    ds.PatientWeight, ds.PatientSize = "0", "-1"
    chars = patient_characteristics(ds)
    assert {k: chars[k] for k in ("sex", "age", "age_years", "birth_date", "weight_kg", "size_m")} == dict.fromkeys(
        ("sex", "age", "age_years", "birth_date", "weight_kg", "size_m"))


def test_size_in_centimetres_is_converted() -> None:
    ds = Dataset()
    ds.PatientSize = "108"
    chars = patient_characteristics(ds)
    assert chars["size_m"] == pytest.approx(1.08) and chars["size_assumed_cm"] is True
