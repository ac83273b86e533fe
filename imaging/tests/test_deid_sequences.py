"""De-identification leaves a sequence raw (neither parsed nor re-encoded) only when _clean would change nothing in it
and re-encoding it would give its bytes as read: the file written and the report are the same with and without that
shortcut, for clean sequences, for sequences carrying identifiers, and for sequences encoded in ways it does not follow."""
import io
import struct

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from imaging import synthetic
from imaging.dicom import deid
from imaging.dicom.validate import read_dataset
from imaging.tests.test_deid import KEY, STUDY_ID, dirty_pet


def _both(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple[bytes, deid.DeidReport], tuple[bytes, deid.DeidReport]]:
    """(bytes written, report) with the shortcut, then with every sequence parsed as before."""
    out = []
    for shortcut in (True, False):
        if not shortcut:
            monkeypatch.setattr(deid, "_kept_as_read", lambda *_args: False)
        ds = read_dataset(data)
        report = deid.deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
        out.append((deid.to_bytes(ds), report))
    monkeypatch.undo()
    return out[0], out[1]


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _coded(meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "F-10450", "SRT", meaning
    return item


def test_a_pet_slices_code_sequences_stay_raw_and_are_written_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    data = next(synthetic.pet_slice_bytes(seed=3, n=1))
    kept: list[bool] = []
    real = deid._kept_as_read
    monkeypatch.setattr(deid, "_kept_as_read", lambda *args: kept.append(real(*args)) or kept[-1])
    ds = read_dataset(data)
    deid.deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
    assert kept and all(kept)
    monkeypatch.undo()
    fast, slow = _both(data, monkeypatch)
    assert fast == slow


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtdose.dcm", "waveform_ecg.dcm"])
def test_sample_files_are_written_the_same(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _both(_bytes(pydicom.dcmread(get_testdata_file(name))), monkeypatch)
    assert fast == slow


def test_identifiers_inside_sequences_are_still_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test suite's dirty PET (UIDs, names, private elements inside sequences) and code sequences whose meaning
    carries the patient's name, at the top and nested."""
    ds = dirty_pet()
    ds.PatientOrientationCodeSequence = Sequence([_coded("recumbent")])
    ds.PatientOrientationCodeSequence[0].PatientOrientationModifierCodeSequence = Sequence([_coded("Jane Doe supine")])
    ds.PatientGantryRelationshipCodeSequence = Sequence([_coded("DOE^JANE headfirst")])
    data = _bytes(ds)
    fast, slow = _both(data, monkeypatch)
    assert fast == slow
    assert b"Doe" not in fast[0] and b"DOE" not in fast[0]
    assert fast[1].scrubbed >= 2


def _pet_with_raw_edit(edit: str) -> bytes:
    """A PET slice whose PatientGantryRelationshipCodeSequence item was re-encoded by hand (lengths kept right)."""
    data = bytearray(next(synthetic.pet_slice_bytes(seed=4, n=1)))
    at = data.find(bytes.fromhex("5400140453510000"))  # (0054,0414) SQ, explicit VR little endian
    seq_length = struct.unpack_from("<I", data, at + 8)[0]
    item = at + 12
    assert struct.unpack_from("<HHI", data, item)[:2] == (0xFFFE, 0xE000)
    first = item + 8  # the item's first element, (0008,0100) CodeValue SH
    length = 8 + struct.unpack_from("<H", data, first + 6)[0]
    second_length = 8 + struct.unpack_from("<H", data, first + length + 6)[0]
    if edit == "out_of_order":  # swap the item's first two elements
        a, b = bytes(data[first:first + length]), bytes(data[first + length:first + length + second_length])
        data[first:first + length + second_length] = b + a
    elif edit == "group_length":  # a (0008,0000) group length at the start of the item
        extra = struct.pack("<HH2sHI", 0x0008, 0x0000, b"UL", 4, 0)
        data[first:first] = extra
        struct.pack_into("<I", data, item + 4, struct.unpack_from("<I", data, item + 4)[0] + len(extra))
        struct.pack_into("<I", data, at + 8, seq_length + len(extra))
    elif edit == "undefined_item":  # the item of undefined length, closed by an item delimiter
        body = bytes(data[first:item + 8 + struct.unpack_from("<I", data, item + 4)[0]])
        new = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + body + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
        data[item:item + 8 + len(body)] = new
        struct.pack_into("<I", data, at + 8, seq_length + 8)
    return bytes(data)


@pytest.mark.parametrize("edit", ["out_of_order", "group_length", "undefined_item"])
def test_sequences_encoded_otherwise_are_written_as_before(edit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _both(_pet_with_raw_edit(edit), monkeypatch)
    assert fast == slow

