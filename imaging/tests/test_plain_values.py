"""validate's plain readers (values read as the file has them, without pydicom's conversion) agree with pydicom.

The ingest reads UIDs, codes, dates and numbers through them; each answers either exactly what reading the element
through pydicom gives, or None (then the caller asks pydicom). Any difference would change what a file is filed as.
"""
import itertools
import warnings

import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from imaging.dicom import validate

NUMBERS = [b"", b"1", b"12", b"-0", b"+3", b"1.5", b".5", b"5.", b"1e3", b"1E-2", b" 2 ", b"abc", b"nan", b"inf", b"1e400",
           b"99999999999999999999", b"2147483648", b"1.5\\2", b"1\\\\3", b"1\\x", b" 1.0\\2.0 \\3", b"\xe9"]
TEXTS = [b"", b"PT", b"PT ", b" PT", b"\t1.2\x00", b"1.2\t ", b"1.2.840.10008.1.2\x00", b"20240201", b"A\\B", b"\xe9t\xe9", b"  ", b"018Y"]


def _raw(tag: int, vr: str | None, data: bytes) -> Dataset:
    data = data + b" " if len(data) % 2 else data
    ds = Dataset()
    ds._dict[BaseTag(tag)] = RawDataElement(BaseTag(tag), vr, len(data), data, 0, vr is None, True)
    return ds


def _pydicom(ds: Dataset, keyword: str) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ds.get(keyword)
        except Exception as exc:  # noqa: BLE001 - the comparison is with whatever pydicom does
            return type(exc)


@pytest.mark.parametrize(("keyword", "tag", "vr", "data"), [
    *((kw, tag, vr, data) for (kw, tag, vr), data in itertools.product(
        [("InstanceNumber", 0x00200013, "IS"), ("SliceThickness", 0x00180050, "DS"), ("PixelSpacing", 0x00280030, "DS")],
        NUMBERS)),
    ("SliceThickness", 0x00180050, None, b"1.5"), ("SliceThickness", 0x00180050, "LO", b"1.5")])
def test_plain_numbers_are_pydicoms_numbers(keyword: str, tag: int, vr: str | None, data: bytes) -> None:
    integer = keyword == "InstanceNumber"
    plain = validate.plain_numbers(_raw(tag, vr, data), keyword, integer=integer)
    if plain is None:
        return  # pydicom reads it
    assert vr is not None and data.isascii()
    value = _pydicom(_raw(tag, vr, data), keyword)
    values = list(value) if isinstance(value, list | tuple) or hasattr(value, "__len__") and not isinstance(value, str) \
        else [value]
    assert plain == [float(str(v).strip()) for v in values]


@pytest.mark.parametrize(("keyword", "tag", "vr", "data"), [
    *((kw, tag, vr, data) for (kw, tag, vr), data in itertools.product(
        [("Modality", 0x00080060, "CS"), ("StudyInstanceUID", 0x0020000D, "UI"), ("StudyDate", 0x00080020, "DA"),
         ("PatientAge", 0x00101010, "AS")], TEXTS)),
    ("Modality", 0x00080060, None, b"PT"), ("Modality", 0x00080060, "LO", b"PT"), ("PatientSize", 0x00101020, "DS", b"1.2")])
def test_plain_text_is_str_of_pydicoms_value(keyword: str, tag: int, vr: str | None, data: bytes) -> None:
    plain = validate.plain_text(_raw(tag, vr, data), keyword)
    if plain is None:
        return
    assert vr in ("CS", "UI", "DA", "AS") and b"\\" not in data
    assert plain == str(_pydicom(_raw(tag, vr, data), keyword) or "")


def test_plain_readers_leave_the_dataset_as_read() -> None:
    ds = _raw(0x00080060, "CS", b"PT")
    ds._dict[BaseTag(0x00280010)] = RawDataElement(BaseTag(0x00280010), "US", 2, b"\xc0\x00", 0, False, True)
    assert (validate.plain_text(ds, "Modality"), validate.plain_us(ds, 0x00280010)) == ("PT", 192)
    assert all(isinstance(elem, RawDataElement) for elem in ds._dict.values())
    assert validate.plain_text(ds, "SOPClassUID") == "" and validate.plain_numbers(ds, "SliceThickness", integer=False) == []


def test_what_is_not_plain_is_left_to_pydicom() -> None:
    assert validate.plain_text(_raw(0x00080060, None, b"PT"), "Modality") is None  # implicit VR: pydicom knows the VR
    assert validate.plain_text(_raw(0x00080060, "CS", b"P\xc9"), "Modality") is None  # not ASCII
    assert validate.plain_text(_raw(0x00080060, "CS", b"PT\\CT"), "Modality") is None  # several values
    assert validate.plain_numbers(_raw(0x00180050, "DS", b"1e400x"), "SliceThickness", integer=False) is None
    assert validate.plain_numbers(_raw(0x00200013, "IS", b"1.5"), "InstanceNumber", integer=True) is None
    assert validate.plain_us(_raw(0x00280010, "US", b"\x01\x00\x02\x00"), 0x00280010) is None  # two values
