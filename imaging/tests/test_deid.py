"""imaging.dicom.deid checked attribute by attribute against the original (no database)."""
import copy
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.datadict import DicomDictionary
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, UID_dictionary, generate_uid

from imaging.dicom import deid, profile
from imaging.dicom.deid import deidentify, remap_uid, to_bytes
from imaging.dicom.validate import check, patient_characteristics, read_dataset

DATA = Path(__file__).parent / "data"
PET_1 = DATA / "tcia-acrin-flt-breast-pet-1.dcm"
PET_2 = DATA / "tcia-acrin-flt-breast-pet-2.dcm"
MR = DATA / "tcia-prostate-mri.dcm"
CT = DATA / "cornerstone-ct-multiframe.dcm"
DEFLATED_SC = DATA / "cornerstone-deflated-sc.dcm"
SAMPLES = [PET_1, PET_2, MR, CT, DEFLATED_SC]
KEY = b"test-key-0123456789abcdef-not-for-production"
OTHER_KEY = b"another-key-0123456789abcdef-not-for-production"
STUDY_ID = "NBNM-0042"

# Attributes that identify a patient, a person or an institution, listed here independently of profile.py.
IDENTIFYING = {
    "PatientName", "PatientID", "OtherPatientIDs", "OtherPatientNames", "IssuerOfPatientID", "PatientBirthDate",
    "PatientBirthName", "PatientMotherBirthName", "PatientAddress", "PatientTelephoneNumbers", "MedicalRecordLocator",
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "ReferringPhysicianName",
    "PerformingPhysicianName", "NameOfPhysiciansReadingStudy", "OperatorsName", "PhysiciansOfRecord",
    "RequestingPhysician", "AccessionNumber", "StudyID", "RequestedProcedureID", "ScheduledProcedureStepID",
    "PerformedProcedureStepID", "AdmissionID", "ImageComments", "PatientComments", "PersonName",
    "VerifyingObserverName", "ContentCreatorName", "StudyDescription", "SeriesDescription", "ProtocolName",
}
PRIVATE_KEPT = {0x00090010, 0x0009100D, 0x70530010, 0x70531000, 0x70531009}
SUV_ATTRIBUTES = ["Units", "DecayCorrection", "CorrectedImage", "RescaleSlope", "RescaleIntercept", "PatientWeight",
                  "PatientSize", "PatientSex", "PatientAge", "AcquisitionDate", "AcquisitionTime", "SeriesDate",
                  "SeriesTime", "StudyDate", "StudyTime", "Modality", "SOPClassUID", "Rows", "Columns",
                  "BitsAllocated", "PixelRepresentation", "FrameReferenceTime", "ActualFrameDuration", "DecayFactor",
                  "DoseCalibrationFactor", "SliceThickness", "ImagePositionPatient", "PixelSpacing"]
DOSE_ATTRIBUTES = ["RadionuclideTotalDose", "RadionuclideHalfLife", "RadiopharmaceuticalStartTime",
                   "RadiopharmaceuticalStartDateTime", "RadionuclidePositronFraction", "Radiopharmaceutical"]


def walk(ds: Dataset, path: tuple = ()) -> Iterator[tuple[tuple, DataElement]]:
    """Every element, sequences included (their items' elements follow the sequence)."""
    for elem in ds:
        yield path + (elem.tag,), elem
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                yield from walk(item, path + (elem.tag, i))


def walk_file(ds: Dataset) -> Iterator[tuple[tuple, DataElement]]:
    yield from walk(getattr(ds, "file_meta", Dataset()), ("meta",))
    yield from walk(ds)


def texts(elem: DataElement) -> list[str]:
    """The element's values as strings (one per value of a multi-valued element)."""
    if elem.VR in ("SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN") or elem.value is None:
        return []
    values = elem.value if isinstance(elem.value, list | pydicom.multival.MultiValue) else [elem.value]
    return [str(v) for v in values if str(v) != ""]


def roundtrip(ds: Dataset) -> Dataset:
    return pydicom.dcmread(io.BytesIO(to_bytes(ds)))


def dirty_pet() -> Dataset:
    """The real PET slice with the identifiers a hospital export carries, at the top and in sequences."""
    ds = pydicom.dcmread(PET_1)
    ds.PatientName = "Doe^Jane^Quinn"
    ds.PatientID = "HOSP-123456"
    ds.IssuerOfPatientID = "St Elsewhere MRN"
    ds.OtherPatientIDs = ["NHS-99887766", "OLD-55443"]
    ds.PatientBirthDate = "20190315"
    ds.PatientBirthName = "Roe^Jane"
    ds.PatientMotherBirthName = "Roe^Mary"
    ds.PatientAddress = "1 Long Road, Springfield"
    ds.PatientTelephoneNumbers = "555-0199"
    ds.InstitutionName = "St Elsewhere Childrens Hospital"
    ds.InstitutionAddress = "2 Hospital Way, Springfield"
    ds.InstitutionalDepartmentName = "Nuclear Medicine 7"
    ds.ReferringPhysicianName = "Welby^Marcus"
    ds.PerformingPhysicianName = "Quincy^Michaela"
    ds.NameOfPhysiciansReadingStudy = "House^Gregory"
    ds.OperatorsName = "Tech^Terry"
    ds.AccessionNumber = "ACC-2024-000123"
    ds.StudyID = "STUDY-4711"
    ds.StudyDescription = "PET FDG Doe Jane restaging"
    ds.ImageComments = "Jane Doe called back for a repeat"
    ds.PatientComments = "allergic to latex"
    ds.AttenuationCorrectionMethod = "measured, HOSP-123456 CTAC"  # kept attribute carrying the patient ID
    request = Dataset()
    request.RequestedProcedureID = "RP-5566-77"
    request.ScheduledProcedureStepID = "SPS-7788-99"
    request.RequestingPhysician = "Kildare^James"
    ds.RequestAttributesSequence = Sequence([request])
    ds.EnergyWindowRangeSequence[0].OperatorsName = "Nested^Operator"  # a table row inside a sequence
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    referenced.ReferencedSOPInstanceUID = "1.3.6.1.4.1.5962.99.1.2.3.4.5"
    ds.ReferencedImageSequence = Sequence([referenced])
    ds.SynchronizationFrameOfReferenceUID = "1.2.840.10008.15.1.1"  # a well-known UID in an instance attribute
    # private: GE and Philips blocks with one kept and one unknown element each, another vendor's block
    ds.add_new(0x00090010, "LO", "GEMS_PETD_01")
    ds.add_new(0x0009100D, "DT", "19600614152316.921")
    ds.add_new(0x00091001, "LO", "Doe^Jane")
    ds.add_new(0x70530010, "LO", "Philips PET Private Group")
    ds.add_new(0x70531000, "DS", "0.000512")
    ds.add_new(0x70531009, "DS", "1.25")
    ds.add_new(0x70531003, "ST", "C:\\export\\doe_jane.img")
    ds.add_new(0x70530011, "LO", "OTHER VENDOR")
    ds.add_new(0x70531100, "LO", "HOSP-123456")
    ds.RadiopharmaceuticalInformationSequence[0].add_new(0x00290010, "LO", "SIEMENS CSA HEADER")
    ds.RadiopharmaceuticalInformationSequence[0].add_new(0x00291010, "LO", "Doe^Jane")
    ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime = "19600614141700.000000"
    ds.RadiopharmaceuticalInformationSequence[0].Radiopharmaceutical = "Fluorothymidine F^18^"
    # overlay plane and a (retired) curve
    ds.add_new(0x60000010, "US", 168)
    ds.add_new(0x60000011, "US", 168)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60003000, "OW", b"\xff" * (168 * 168 // 8))
    ds.add_new(0x50000005, "US", 1)
    return pydicom.dcmread(io.BytesIO(_file_bytes(ds)))  # as read from a file: raw elements, like an upload


def _file_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.fixture
def original() -> Dataset:
    return dirty_pet()


@pytest.fixture
def cleaned(original: Dataset) -> Dataset:
    ds = copy.deepcopy(original)
    deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
    return roundtrip(ds)


# --------------------------------------------------------------------------------------- identity
def identifying_values(ds: Dataset) -> set[str]:
    values = set()
    for _, elem in walk_file(ds):
        if elem.keyword in IDENTIFYING or (elem.tag.is_private and elem.tag not in PRIVATE_KEPT):
            for text in texts(elem):
                values.add(text)
                if elem.VR == "PN":
                    values.update(part for part in re.split(r"[\^=]", text) if len(part) >= 3)
    return values


def test_no_identifier_of_the_original_remains_anywhere(original: Dataset, cleaned: Dataset) -> None:
    secrets = identifying_values(original) - {STUDY_ID}
    assert {"Doe^Jane^Quinn", "HOSP-123456", "St Elsewhere Childrens Hospital", "Nested^Operator", "RP-5566-77"} <= secrets
    long_secrets = {s for s in secrets if len(s) >= 5 and not s.replace(".", "").isdigit()}
    for path, elem in walk_file(cleaned):
        for text in texts(elem):
            assert text not in secrets, (path, elem.keyword)
            if elem.VR != "UI":
                for secret in long_secrets:
                    assert secret.lower() not in text.lower(), (path, elem.keyword, secret)


def test_identifying_attributes_are_gone_or_hold_the_study_id(cleaned: Dataset) -> None:
    for path, elem in walk_file(cleaned):
        if elem.keyword in IDENTIFYING:
            assert texts(elem) in ([], [STUDY_ID]), (path, elem.keyword)
    assert cleaned.PatientName == STUDY_ID and cleaned.PatientID == STUDY_ID
    assert cleaned.PatientBirthDate == ""
    assert "AttenuationCorrectionMethod" in cleaned and cleaned.AttenuationCorrectionMethod == ""  # scrubbed


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_every_attribute_the_profile_removes_or_replaces_is_gone(path: Path) -> None:
    """Profile-driven: values of X/Z/D attributes of the original appear nowhere in the output."""
    original = read_dataset(path)
    actions = profile.actions()
    protected, kept = set(), set()
    for _, elem in walk_file(original):
        target = protected if actions.get(elem.tag) in (profile.REMOVE, profile.EMPTY, profile.DUMMY) else kept
        target.update(t for t in texts(elem) if len(t) >= 4)
    protected -= kept | {STUDY_ID}  # a value that the original also has in a retained attribute is not a leak
    ds = copy.deepcopy(original)
    deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
    for where, elem in walk_file(roundtrip(ds)):
        if actions.get(elem.tag) in (profile.REMOVE,):
            raise AssertionError(f"{elem.keyword} should have been removed ({where})")
        for text in texts(elem):
            assert text not in protected, (where, elem.keyword)


def test_no_original_instance_uid_remains(original: Dataset, cleaned: Dataset) -> None:
    originals = {t for _, e in walk_file(original) if e.VR == "UI" for t in texts(e)
                 if t not in UID_dictionary and not t.startswith("1.2.840.10008.")}
    assert len(originals) >= 6  # SOP, study, series, frame of reference, referenced SOP, file-set, ...
    everything = " ".join(t for _, e in walk_file(cleaned) for t in texts(e))
    for uid in originals:
        assert uid not in everything


def test_private_attributes_removed_except_the_keep_list(original: Dataset, cleaned: Dataset) -> None:
    private = {elem.tag: elem.value for _, elem in walk(cleaned) if elem.tag.is_private}
    assert set(private) == PRIVATE_KEPT
    for tag in PRIVATE_KEPT:
        assert original[tag].value == private[tag]
    assert 0x00291010 not in cleaned.RadiopharmaceuticalInformationSequence[0]


def test_private_keep_list_follows_the_private_creator_not_the_slot() -> None:
    ds = pydicom.dcmread(PET_1)
    ds.add_new(0x70530010, "LO", "OTHER VENDOR")
    ds.add_new(0x70531000, "DS", "9")  # same tag number as the Philips factor, other creator: removed
    ds.add_new(0x70530011, "LO", "Philips PET Private Group")
    ds.add_new(0x70531100, "DS", "0.000512")  # Philips SUV factor in block 0x11: kept
    deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
    assert {int(e.tag) for e in ds if e.tag.is_private} == {0x70530011, 0x70531100}


def test_icon_overlays_and_curves_removed(original: Dataset, cleaned: Dataset) -> None:
    assert "IconImageSequence" in original and 0x60003000 in original and 0x50000005 in original
    assert "IconImageSequence" not in cleaned
    assert not [e for e in cleaned if (e.tag.group >> 8) in (0x50, 0x60)]


# --------------------------------------------------------------------------------------- UIDs
def test_uids_remapped_deterministically(original: Dataset) -> None:
    first, second, other = (copy.deepcopy(original) for _ in range(3))
    report = deidentify(first, study_id=STUDY_ID, uid_key=KEY)
    deidentify(second, study_id=STUDY_ID, uid_key=KEY)
    deidentify(other, study_id=STUDY_ID, uid_key=OTHER_KEY)
    for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        assert first[keyword].value == second[keyword].value == remap_uid(original[keyword].value, KEY)
        assert other[keyword].value != first[keyword].value
        assert first[keyword].value != original[keyword].value
    assert report.sop_instance_uid == (original.SOPInstanceUID, first.SOPInstanceUID)
    assert report.study_uid == (original.StudyInstanceUID, first.StudyInstanceUID)
    assert report.series_uid == (original.SeriesInstanceUID, first.SeriesInstanceUID)
    assert report.uid_map == {original.SOPInstanceUID: first.SOPInstanceUID, original.StudyInstanceUID: first.StudyInstanceUID,
                              original.SeriesInstanceUID: first.SeriesInstanceUID}
    assert first.file_meta.MediaStorageSOPInstanceUID == first.SOPInstanceUID
    referenced = first.ReferencedImageSequence[0]
    assert referenced.ReferencedSOPInstanceUID == remap_uid("1.3.6.1.4.1.5962.99.1.2.3.4.5", KEY)


def test_same_study_in_two_files_maps_to_the_same_new_study(original: Dataset) -> None:
    sibling = copy.deepcopy(original)
    sibling.SOPInstanceUID = "1.3.6.1.4.1.14519.5.2.1.7009.2401.1"
    a, b = copy.deepcopy(original), sibling
    deidentify(a, study_id=STUDY_ID, uid_key=KEY)
    deidentify(b, study_id=STUDY_ID, uid_key=KEY)
    assert a.StudyInstanceUID == b.StudyInstanceUID and a.SeriesInstanceUID == b.SeriesInstanceUID
    assert a.SOPInstanceUID != b.SOPInstanceUID


def test_new_uids_are_valid_and_short() -> None:
    for uid in ("1.2.3", "1.3.6.1.4.1.14519.5.2.1.7009.2401.264581068966524608390523682945", "9" * 64):
        new = remap_uid(uid, KEY)
        assert re.fullmatch(r"2\.25\.(0|[1-9][0-9]*)", new) and len(new) <= 64 and UID(new).is_valid
        assert int(new[5:]) < 2 ** 128
    assert remap_uid("1.2.3", KEY) != remap_uid("1.2.3", OTHER_KEY)


def test_well_known_uids_are_not_remapped(original: Dataset, cleaned: Dataset) -> None:
    assert cleaned.SOPClassUID == original.SOPClassUID == cleaned.file_meta.MediaStorageSOPClassUID
    assert cleaned.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert cleaned.ReferencedImageSequence[0].ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert cleaned.SynchronizationFrameOfReferenceUID == "1.2.840.10008.15.1.1"


# --------------------------------------------------------------------------------------- what must survive
def test_suv_relevant_attributes_survive_unchanged(original: Dataset, cleaned: Dataset) -> None:
    for keyword in SUV_ATTRIBUTES:
        if keyword in original:
            assert cleaned[keyword].value == original[keyword].value, keyword
    before, after = original.RadiopharmaceuticalInformationSequence[0], cleaned.RadiopharmaceuticalInformationSequence[0]
    for keyword in DOSE_ATTRIBUTES:
        assert after[keyword].value == before[keyword].value, keyword
    assert after.RadionuclideCodeSequence[0].CodeValue == before.RadionuclideCodeSequence[0].CodeValue
    assert cleaned[0x70531000].value == "0.000512" and cleaned[0x0009100D].value == "19600614152316.921"
    assert cleaned.PixelData == original.PixelData


def test_patient_characteristics_kept_birth_date_emptied() -> None:
    ds = pydicom.dcmread(CT)
    deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
    assert (ds.PatientSex, ds.PatientAge, ds.PatientWeight, ds.PatientSize) == ("M", "052Y", 75, 1.6)
    assert ds.PatientBirthDate == ""
    assert ds.StationName == "CONSOLE01" and ds.DeviceSerialNumber == "123456"  # Retain Device Identity
    assert "InstitutionName" not in ds and "OperatorsName" not in ds and "PerformingPhysicianName" not in ds


def test_markers(original: Dataset, cleaned: Dataset) -> None:
    assert cleaned.PatientIdentityRemoved == "YES"
    method = list(cleaned.DeidentificationMethod)
    assert method[0] == "PS3.15 E.1 Basic Profile" and profile.PROFILE_VERSION in method[-1]
    assert all(len(v) <= 64 for v in method)
    codes = [(i.CodeValue, i.CodingSchemeDesignator) for i in cleaned.DeidentificationMethodCodeSequence]
    assert codes == [("113100", "DCM"), ("113106", "DCM"), ("113108", "DCM"), ("113109", "DCM")]
    assert original.LongitudinalTemporalInformationModified == "MODIFIED"  # TCIA shifted the dates
    assert cleaned.LongitudinalTemporalInformationModified == "MODIFIED"  # and that stays declared
    ct = pydicom.dcmread(CT)
    deidentify(ct, study_id=STUDY_ID, uid_key=KEY)
    assert ct.LongitudinalTemporalInformationModified == "UNMODIFIED"


def test_file_meta_replaced(original: Dataset) -> None:
    ds = pydicom.dcmread(DEFLATED_SC)
    assert ds.file_meta.SourceApplicationEntityTitle == "CLUNIE1"
    deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
    assert "SourceApplicationEntityTitle" not in ds.file_meta
    assert ds.file_meta.ImplementationVersionName == deid.IMPLEMENTATION_VERSION_NAME
    assert ds.preamble == b"\x00" * 128


# --------------------------------------------------------------------------------------- writing
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_deidentified_dataset_writes_and_reads_back_with_pixels_intact(path: Path) -> None:
    original = read_dataset(path)
    ds = copy.deepcopy(original)
    check(ds, size_bytes=path.stat().st_size, max_bytes=1 << 30)  # the ingest order: check, characteristics, de-id
    patient_characteristics(ds)
    report = deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
    assert report.uids_remapped >= 3
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, copy.deepcopy(ds), enforce_file_format=True)
    assert to_bytes(ds) == buffer.getvalue()  # the fast writer writes what pydicom writes
    back = pydicom.dcmread(io.BytesIO(buffer.getvalue()))
    assert back.PixelData == original.PixelData
    assert back.SOPInstanceUID == report.sop_instance_uid[1]
    assert back.PatientName == STUDY_ID


@pytest.mark.parametrize("name", ["MR_small_implicit.dcm", "JPEG2000.dcm", "MR_small_RLE.dcm", "CT_small.dcm",
                                  "MR_small_bigendian.dcm"])
def test_other_encodings_write_the_same_bytes_as_pydicom(name: str) -> None:
    ds = read_dataset(get_testdata_file(name))
    pixels = ds.PixelData
    deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, copy.deepcopy(ds), enforce_file_format=True)
    assert to_bytes(ds) == buffer.getvalue()
    back = pydicom.dcmread(io.BytesIO(buffer.getvalue()))
    assert back.PixelData == pixels and back.PatientID == STUDY_ID and back.PatientIdentityRemoved == "YES"


def test_dataset_built_in_code_also_writes() -> None:
    ds = pydicom.dcmread(PET_1)
    ds.SeriesDescription = "changed after reading"  # a converted element among raw ones
    deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
    ds.add_new(0x00181030, "LO", "added after de-identification")
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, copy.deepcopy(ds), enforce_file_format=True)
    assert to_bytes(ds) == buffer.getvalue()


# --------------------------------------------------------------------------------------- dose reports
def dose_sr() -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.67"  # X-Ray Radiation Dose SR
    ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid(), generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID = "SR", "Doe^Jane", "HOSP-123456"
    ds.InstitutionName = "St Elsewhere Childrens Hospital"

    def item(value_type: str, meaning: str, **values: object) -> Dataset:
        it = Dataset()
        it.ValueType = value_type
        concept = Dataset()
        concept.CodeValue, concept.CodingSchemeDesignator, concept.CodeMeaning = "113722", "DCM", meaning
        it.ConceptNameCodeSequence = Sequence([concept])
        for keyword, value in values.items():
            setattr(it, keyword, value)
        return it

    measured = Dataset()
    measured.NumericValue = "123.4"
    dlp = item("NUM", "DLP", MeasuredValueSequence=Sequence([measured]))
    ds.ContentSequence = Sequence([
        item("PNAME", "Person Observer Name", PersonName="Smith^John"),
        item("UIDREF", "Study Instance UID", UID="1.3.6.1.4.1.5962.99.77"),
        item("TEXT", "Comment", TextValue="scan of HOSP-123456 repeated"),
        item("DATETIME", "Start of X-Ray Irradiation", DateTime="20240101120000"),
        dlp,
    ])
    return ds


def test_dose_sr_content_is_cleaned_not_dropped() -> None:
    ds = dose_sr()
    deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
    back = roundtrip(ds)
    content = back.ContentSequence
    assert len(content) == 5
    assert content[0].PersonName == "ANONYMIZED"
    assert content[1].UID == remap_uid("1.3.6.1.4.1.5962.99.77", KEY)
    assert content[2].TextValue == ""  # contained the patient ID
    assert content[3].DateTime == "20240101120000"
    assert content[4].MeasuredValueSequence[0].NumericValue == 123.4
    assert "InstitutionName" not in back and back.PatientName == STUDY_ID


# --------------------------------------------------------------------------------------- API edges
def test_deidentify_works_in_place_and_reports_counts(original: Dataset) -> None:
    ds = copy.deepcopy(original)
    report = deidentify(ds, study_id=STUDY_ID, uid_key=KEY)
    assert ds.PatientID == STUDY_ID  # the same object was changed
    assert report.private_removed >= 5 and report.private_kept == 5
    assert report.removed >= 10 and report.replaced >= 5 and report.scrubbed == 1
    assert report.profile_version == profile.PROFILE_VERSION and report.standard_edition == profile.STANDARD_EDITION


def test_report_carries_no_identifier(original: Dataset) -> None:
    report = deidentify(copy.deepcopy(original), study_id=STUDY_ID, uid_key=KEY)
    text = repr(report)
    for secret in identifying_values(original) - {STUDY_ID}:
        if len(secret) >= 4:
            assert secret not in text


@pytest.mark.parametrize("study_id", ["", " leading", "a\\b", "x" * 65, "Doe^Jane", "line\nbreak"])
def test_bad_study_id_refused(study_id: str) -> None:
    with pytest.raises(ValueError):
        deidentify(pydicom.dcmread(PET_1), study_id=study_id, uid_key=KEY)


def test_short_key_refused() -> None:
    with pytest.raises(ValueError):
        deidentify(pydicom.dcmread(PET_1), study_id=STUDY_ID, uid_key=b"short")


def test_without_the_full_dates_option_dates_go() -> None:
    ds = pydicom.dcmread(PET_1)
    options = profile.Options(retain_full_dates=False)
    deidentify(ds, study_id=STUDY_ID, uid_key=KEY, options=options)
    assert ds.StudyDate == "" and "AcquisitionTime" not in ds and "SeriesDate" not in ds
    assert "RadiopharmaceuticalStartTime" not in ds.RadiopharmaceuticalInformationSequence[0]
    assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence] == ["113100", "113108", "113109"]


# --------------------------------------------------------------------------------------- the table
def test_profile_table_is_consistent() -> None:
    tags = [row.tag for row in profile.ATTRIBUTES]
    assert len(tags) == len(set(tags)) > 500
    for row in profile.ATTRIBUTES:
        assert DicomDictionary[row.tag][4] == row.keyword
        assert row.basic in ("X", "Z", "D", "U", "K", "C", "X/Z", "X/D", "X/Z/D", "Z/D", "X/Z/U*")
        assert row.full_dates in ("", "K") and row.patient_characteristics in ("", "K", "C")
        assert row.device_identity in ("", "K")
    actions = profile.actions()
    assert actions[0x00100030] == profile.EMPTY  # birth date: not retained by Full Dates
    assert actions[0x00101010] == profile.KEEP and actions[0x00101030] == profile.KEEP  # age, weight
    assert actions[0x00181072] == profile.KEEP  # Radiopharmaceutical Start Time (0018,1072)
    assert actions[0x00080018] == profile.NEW_UID and actions[0x00880200] == profile.REMOVE  # SOP UID, icon
    for keyword in SUV_ATTRIBUTES + DOSE_ATTRIBUTES + ["RadiopharmaceuticalInformationSequence"]:
        tag = pydicom.datadict.tag_for_keyword(keyword)
        assert actions.get(tag, profile.KEEP) in (profile.KEEP, profile.NEW_UID), keyword
