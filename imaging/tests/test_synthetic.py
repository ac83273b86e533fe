"""The synthetic DICOM generator: valid files, consistent geometry and identity, physiological SUV,
believable paediatric activities, the 'bad' variants, determinism. No database."""
import importlib.util
import io
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import config as pydicom_config
from pydicom.dataset import validate_file_meta

from imaging import synthetic as syn

ROOT = Path(__file__).resolve().parents[2]
CHILD = syn.PatientLike(study_id="NB-TEST-001", sex="F", birth_date=date(2018, 5, 4), weight_kg=20.0, height_cm=112.0)


@pytest.fixture(autouse=True)
def strict_pydicom():
    """Any value pydicom considers invalid for its VR (length, characters) fails the test."""
    before = pydicom_config.settings.writing_validation_mode
    pydicom_config.settings.writing_validation_mode = pydicom_config.RAISE
    yield
    pydicom_config.settings.writing_validation_mode = before


@pytest.fixture(scope="module")
def fdg_study():
    return syn.pet_ct_study(tracer="FDG", patient=CHILD, seed=11, n_slices=48, rows=96, cols=96, ct_rows=128, ct_cols=128)


@pytest.fixture(scope="module")
def mibg_study():
    return syn.spect_ct_study(patient=CHILD, seed=11, n_slices=40, rows=64, cols=64, ct_rows=96, ct_cols=96)


def _read_back(datasets, folder):
    return [pydicom.dcmread(p) for p in syn.write_series(datasets, folder)]


def _dt(date_str: str, time_str: str) -> datetime:
    return datetime.strptime(date_str + time_str.split(".")[0], "%Y%m%d%H%M%S")


# --- valid files ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["pet", "ct", "nm", "nm_ct"])
def test_every_generator_round_trips_through_dcmwrite_and_dcmread(kind, fdg_study, mibg_study, tmp_path):
    datasets = {"pet": fdg_study[0], "ct": fdg_study[1], "nm": mibg_study[0], "nm_ct": mibg_study[1]}[kind]
    paths = syn.write_series(datasets, tmp_path)
    assert len(paths) == len(datasets) and len(set(paths)) == len(paths)
    for path, original in zip(paths, datasets, strict=True):
        raw = path.read_bytes()
        assert raw[128:132] == b"DICM"
        read = pydicom.dcmread(path)
        validate_file_meta(read.file_meta, enforce_standard=True)  # required file meta present and non-empty
        assert read.file_meta.MediaStorageSOPClassUID == original.SOPClassUID
        assert read.file_meta.MediaStorageSOPInstanceUID == original.SOPInstanceUID
        assert read.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
        assert read == original  # every element, sequences and pixel data included
        assert syn.encode(read) == raw  # writing what was read gives the same bytes
        pixels = read.pixel_array
        frames = int(read.get("NumberOfFrames", 1))
        assert pixels.shape == ((frames,) if frames > 1 else ()) + (read.Rows, read.Columns)


def test_importing_the_generator_does_not_import_django():
    code = "import sys, imaging.synthetic; sys.exit(1 if 'django' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


PET_REQUIRED = (
    "SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID", "Modality",
    "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "PatientAge", "PatientWeight", "PatientSize",
    "StudyDate", "StudyTime", "SeriesDate", "SeriesTime", "AcquisitionDate", "AcquisitionTime", "ImageType",
    "Units", "CountsSource", "SeriesType", "NumberOfSlices", "CorrectedImage", "DecayCorrection", "DecayFactor",
    "FrameReferenceTime", "ActualFrameDuration", "ImageIndex", "RescaleSlope", "RescaleIntercept",
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness", "Rows", "Columns",
    "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "PhotometricInterpretation", "SamplesPerPixel",
    "RadiopharmaceuticalInformationSequence", "PatientOrientationCodeSequence", "PatientGantryRelationshipCodeSequence",
    "BurnedInAnnotation", "PixelData",
)


def test_pet_attributes(fdg_study):
    pet, _ = fdg_study
    for ds in pet:
        missing = [k for k in PET_REQUIRED if k not in ds]
        assert not missing, missing
        assert ds.SOPClassUID == syn.PET_IMAGE_STORAGE == "1.2.840.10008.5.1.4.1.1.128"
        assert (ds.Modality, ds.Units, ds.DecayCorrection) == ("PT", "BQML", "START")
        assert list(ds.CorrectedImage) == ["ATTN", "DECY"] and list(ds.SeriesType) == ["STATIC", "IMAGE"]
        assert (ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation) == (16, 16, 1)
        assert float(ds.RescaleIntercept) == 0 and float(ds.RescaleSlope) > 0
        assert (ds.PatientSex, ds.PatientBirthDate, ds.PatientAge) == ("F", "20180504", "006Y")
        assert (float(ds.PatientWeight), float(ds.PatientSize)) == (20.0, 1.12)
        assert ds.ActualFrameDuration == syn.STANDARD_FRAME_MS == 120_000
        assert ds.NumberOfSlices == len(pet)
        item = ds.RadiopharmaceuticalInformationSequence[0]
        assert item.Radiopharmaceutical == "Fludeoxyglucose F^18^"
        assert float(item.RadionuclideHalfLife) == 6586.2
        code = item.RadionuclideCodeSequence[0]
        assert (code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning) == ("77004003", "SCT", "^18^Fluorine")
        assert item.RadiopharmaceuticalStartTime == item.RadiopharmaceuticalStartDateTime[8:]
    # per-slice slopes, as GE writes them
    assert len({float(ds.RescaleSlope) for ds in pet}) > 1
    assert len(pet[0].PixelData) == 96 * 96 * 2


def test_pet_timing_is_plausible(fdg_study):
    pet, _ = fdg_study
    item = pet[0].RadiopharmaceuticalInformationSequence[0]
    injection = datetime.strptime(item.RadiopharmaceuticalStartDateTime, "%Y%m%d%H%M%S")
    series = _dt(pet[0].SeriesDate, pet[0].SeriesTime)
    acquisitions = [_dt(ds.AcquisitionDate, ds.AcquisitionTime) for ds in pet]
    assert timedelta(minutes=60) <= series - injection <= timedelta(minutes=70)  # FDG uptake ~60 min
    assert series == min(acquisitions)  # QIBA: the series time is not after any acquisition
    assert all(_dt(ds.ContentDate, ds.ContentTime) > max(acquisitions) for ds in pet)
    assert all(float(ds.DecayFactor) >= 1.0 for ds in pet)
    beds = sorted({a for a in acquisitions})
    assert all(b - a == timedelta(milliseconds=syn.STANDARD_FRAME_MS) for a, b in zip(beds, beds[1:], strict=False))


def test_ct_attributes_and_dose(fdg_study):
    _, ct = fdg_study
    for ds in ct:
        assert ds.SOPClassUID == syn.CT_IMAGE_STORAGE == "1.2.840.10008.5.1.4.1.1.2"
        assert ds.Modality == "CT" and list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
        assert ds["CTDIvol"].VR == "FD" and ds["CTDIvol"].tag == 0x00189345
        assert 0.5 < ds.CTDIvol < 5.0  # paediatric low-dose CT for attenuation correction
        assert ds.CTDIPhantomTypeCodeSequence[0].CodeValue == "113691"  # 32 cm body phantom
        assert (float(ds.RescaleIntercept), float(ds.RescaleSlope)) == (-1024.0, 1.0)
        assert ds.PatientPosition == "HFS"
    head = syn.ct_series(patient=CHILD, seed=11, n_slices=2, rows=32, cols=32, ctdi_phantom_cm=16)
    assert head[0].CTDIPhantomTypeCodeSequence[0].CodeValue == "113690"
    # the liver reads as liver in Hounsfield units
    mid = max(ct, key=lambda d: syn.organ_mask(d, "liver", shrink=0.6).sum())
    hu = mid.pixel_array.astype(float) * float(mid.RescaleSlope) + float(mid.RescaleIntercept)
    assert 45 < hu[syn.organ_mask(mid, "liver", shrink=0.6)].mean() < 75


def test_nm_spect_attributes(mibg_study):
    (nm,), _ = mibg_study
    assert nm.SOPClassUID == syn.NM_IMAGE_STORAGE == "1.2.840.10008.5.1.4.1.1.20"
    assert nm.Modality == "NM"
    assert list(nm.ImageType) == ["ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"]
    assert nm.NumberOfFrames == 40 == nm.NumberOfSlices == len(nm.SliceVector)
    assert list(nm.SliceVector) == list(range(1, 41))
    assert nm.FrameIncrementPointer == 0x00540080  # Slice Vector, as PS3.3 Table C.8-8 requires for RECON TOMO
    assert (nm.NumberOfEnergyWindows, nm.NumberOfDetectors, nm.NumberOfRotations) == (1, 1, 1)
    window = nm.EnergyWindowInformationSequence[0].EnergyWindowRangeSequence[0]
    assert float(window.EnergyWindowLowerLimit) < 159 < float(window.EnergyWindowUpperLimit)
    item = nm.RadiopharmaceuticalInformationSequence[0]
    assert item.RadionuclideCodeSequence[0].CodeValue == "21572004"  # ^123^Iodine
    assert float(item.RadionuclideHalfLife) == 47592
    detector = nm.DetectorInformationSequence[0]
    assert len(detector.ImagePositionPatient) == 3 and list(detector.ImageOrientationPatient) == [1, 0, 0, 0, 1, 0]
    assert float(nm.SpacingBetweenSlices) > 0 and float(nm.SliceThickness) == float(nm.SpacingBetweenSlices)
    assert nm.pixel_array.shape == (40, 64, 64) and nm.CountsAccumulated == int(nm.pixel_array.sum())
    # 123I-MIBG: injected the day before, imaged ~24 h later
    injection = datetime.strptime(item.RadiopharmaceuticalStartDateTime, "%Y%m%d%H%M%S")
    assert timedelta(hours=24) <= _dt(nm.SeriesDate, nm.SeriesTime) - injection <= timedelta(hours=24, minutes=10)
    assert injection.date() < date(int(nm.StudyDate[:4]), int(nm.StudyDate[4:6]), int(nm.StudyDate[6:]))
    # the liver is hotter than the background
    liver = syn.organ_mask(nm, "liver", shrink=0.6)
    body = syn.organ_mask(nm, "body", shrink=0.9)
    assert nm.pixel_array[liver].mean() > 3 * nm.pixel_array[body].mean()


# --- geometry and identity -------------------------------------------------------------------------
def _z(ds) -> float:
    return float(ds.ImagePositionPatient[2])


@pytest.mark.parametrize("half", [0, 1])
def test_axial_geometry_is_consistent_and_monotonic(fdg_study, half):
    series = fdg_study[half]
    zs = [_z(ds) for ds in series]
    steps = np.diff(zs)
    assert np.all(steps < 0) and np.allclose(steps, -float(series[0].SliceThickness))  # superior first, contiguous
    assert [ds.InstanceNumber for ds in series] == list(range(1, len(series) + 1))
    assert all(float(ds.SliceLocation) == _z(ds) for ds in series)
    assert len({tuple(ds.ImageOrientationPatient) for ds in series}) == 1
    assert len({tuple(ds.PixelSpacing) for ds in series}) == 1
    assert len({tuple(ds.ImagePositionPatient[:2]) for ds in series}) == 1
    # the image is centred: the first pixel centre is half the field of view (minus half a pixel) from 0
    px, x0 = float(series[0].PixelSpacing[1]), float(series[0].ImagePositionPatient[0])
    assert x0 == pytest.approx(-px * (series[0].Columns - 1) / 2)


def test_pet_and_ct_of_one_study_share_study_and_frame_of_reference(fdg_study):
    pet, ct = fdg_study
    both = pet + ct
    assert len({ds.StudyInstanceUID for ds in both}) == 1
    assert len({ds.FrameOfReferenceUID for ds in both}) == 1
    assert len({ds.SeriesInstanceUID for ds in pet}) == 1 and len({ds.SeriesInstanceUID for ds in ct}) == 1
    assert pet[0].SeriesInstanceUID != ct[0].SeriesInstanceUID
    assert len({ds.SOPInstanceUID for ds in both}) == len(both)
    for keyword in ("StudyDate", "StudyTime", "AccessionNumber", "StudyID", "StudyDescription", "PatientID"):
        assert len({ds.get(keyword) for ds in both}) == 1, keyword
    assert [_z(ds) for ds in pet] == [_z(ds) for ds in ct]  # the CT covers the same slices
    assert _dt(ct[0].SeriesDate, ct[0].SeriesTime) < _dt(pet[0].SeriesDate, pet[0].SeriesTime)  # CT first
    for uid in (pet[0].StudyInstanceUID, pet[0].SOPInstanceUID, ct[0].SeriesInstanceUID):
        assert pydicom.uid.UID(uid).is_valid


def test_separate_calls_with_the_same_patient_and_seed_share_the_study():
    pet = syn.pet_series(tracer="F18_FDG", patient=CHILD, seed=5, n_slices=2, rows=16, cols=16)
    ct = syn.ct_series(patient=CHILD, seed=5, n_slices=2, rows=16, cols=16)
    assert pet[0].StudyInstanceUID == ct[0].StudyInstanceUID
    assert pet[0].FrameOfReferenceUID == ct[0].FrameOfReferenceUID
    other = syn.pet_series(tracer="F18_FDG", patient=CHILD, seed=6, n_slices=2, rows=16, cols=16)
    assert other[0].StudyInstanceUID != pet[0].StudyInstanceUID


def test_spect_and_its_ct_share_study_and_frame_of_reference(mibg_study):
    (nm,), ct = mibg_study
    assert {ds.StudyInstanceUID for ds in ct} == {nm.StudyInstanceUID}
    assert {ds.FrameOfReferenceUID for ds in ct} == {nm.FrameOfReferenceUID}
    # the NM frames (inferior first, +SpacingBetweenSlices along the normal) sit on the CT slices
    first = float(nm.DetectorInformationSequence[0].ImagePositionPatient[2])
    frames = [first + k * float(nm.SpacingBetweenSlices) for k in range(nm.NumberOfFrames)]
    assert np.allclose(frames, [_z(ds) for ds in ct])
    assert _dt(ct[0].SeriesDate, ct[0].SeriesTime) > _dt(nm.SeriesDate, nm.SeriesTime)  # CT after the SPECT


# --- quantification: SUV computed by hand from the header -----------------------------------------
def _suvbw_factor(ds) -> float:
    """QIBA vendor-neutral SUVbw factor, written out by hand (BQML, START, no GE private time)."""
    assert "ATTN" in ds.CorrectedImage and "DECY" in ds.CorrectedImage and ds.DecayCorrection == "START"
    item = ds.RadiopharmaceuticalInformationSequence[0]
    scan = _dt(ds.SeriesDate, ds.SeriesTime)
    injection = datetime.strptime(item.RadiopharmaceuticalStartDateTime, "%Y%m%d%H%M%S")
    decayed = float(item.RadionuclideTotalDose) * 2 ** (-(scan - injection).total_seconds() / float(item.RadionuclideHalfLife))
    return float(ds.PatientWeight) * 1000 / decayed


def _organ_suv(series, organ: str) -> np.ndarray:
    values = []
    for ds in series:
        mask = syn.organ_mask(ds, organ, shrink=0.6)
        if mask.any():
            bqml = ds.pixel_array.astype(float) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
            values.append(bqml[mask] * _suvbw_factor(ds))
    return np.concatenate(values)


@pytest.mark.parametrize("tracer", ["F18_FDG", "GA68_DOTATATE", "F18_NAF"])
def test_liver_suvbw_computed_by_hand_is_what_the_phantom_intends(tracer, tmp_path):
    pet = _read_back(syn.pet_series(tracer=tracer, patient=CHILD, seed=3, n_slices=40, rows=96, cols=96), tmp_path)
    liver = _organ_suv(pet, "liver")
    assert liver.size > 500
    intended = syn.PET_UPTAKE_SUV[tracer]["liver"]
    assert liver.mean() == pytest.approx(intended, rel=0.05)
    if tracer == "F18_FDG":
        assert 1.5 <= liver.mean() <= 2.5  # physiological FDG liver uptake
        assert 0.05 < liver.std() / liver.mean() < 0.20  # liver coefficient of variation of a standard scan


def test_suv_survives_a_weight_and_time_change(tmp_path):
    """A heavier child with a different injection delay still reads the intended SUV: the pixels follow the header."""
    teen = syn.PatientLike(study_id="NB-TEST-002", sex="M", birth_date=date(2010, 1, 9), weight_kg=47.5, height_cm=158.0)
    pet = _read_back(syn.pet_series(tracer="FDG", patient=teen, seed=99, n_slices=30, rows=64, cols=64, injected_mbq=150.0),
                     tmp_path)
    assert float(pet[0].RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose) == 150e6
    assert _organ_suv(pet, "liver").mean() == pytest.approx(syn.PET_UPTAKE_SUV["F18_FDG"]["liver"], rel=0.05)


def test_the_platform_catalogue_identifies_every_synthetic_tracer(fdg_study, mibg_study):
    from nucmed.radiopharmaceuticals import identify

    for code in ("F18_FDG", "F18_NAF", "GA68_DOTATATE"):
        item = syn.pet_series(tracer=code, patient=CHILD, seed=1, n_slices=1, rows=8, cols=8)[0].RadiopharmaceuticalInformationSequence[0]
        agent = identify(item.Radiopharmaceutical, float(item.RadionuclideHalfLife))
        assert agent is not None and agent.code == code
    item = mibg_study[0][0].RadiopharmaceuticalInformationSequence[0]
    assert identify(item.Radiopharmaceutical, float(item.RadionuclideHalfLife)).code == "I123_MIBG"


# --- activities ---------------------------------------------------------------------------------------
def test_activity_table_gives_guideline_activities():
    fdg = syn.recommended_activity_mbq("FDG", 20.0)
    assert 3.7 * 20 <= fdg <= 5.2 * 20  # North American guideline range for a 20 kg child
    assert syn.recommended_activity_mbq("FDG", 4.0) == 26.0  # minimum activity
    assert syn.recommended_activity_mbq("MIBG", 5.0) == 37.0  # minimum
    assert syn.recommended_activity_mbq("MIBG", 90.0) == 370.0  # maximum
    assert syn.recommended_activity_mbq("MIBG", 20.0) == pytest.approx(104.0)
    assert syn.recommended_activity_mbq("GA68_DOTATATE", 30.0) == pytest.approx(60.0)
    assert syn.recommended_activity_mbq("NaF", 30.0) == pytest.approx(66.6)
    with pytest.raises(ValueError):
        syn.recommended_activity_mbq("Tc99m-MDP", 20.0)


def test_low_dose_is_a_sixth_of_the_activity_with_a_three_minute_frame(tmp_path):
    standard = syn.pet_series(tracer="FDG", patient=CHILD, seed=3, n_slices=40, rows=96, cols=96)
    low = syn.pet_series(tracer="FDG", patient=CHILD, seed=3, n_slices=40, rows=96, cols=96, low_dose=True)
    dose = {name: float(s[0].RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose)
            for name, s in (("standard", standard), ("low", low))}
    assert dose["low"] == pytest.approx(dose["standard"] / 6, abs=0.01e6)  # rounded to 0.01 MBq
    assert {ds.ActualFrameDuration for ds in low} == {syn.LOW_DOSE_FRAME_MS} == {180_000}
    assert {ds.ActualFrameDuration for ds in standard} == {120_000}
    assert "LOW DOSE" in low[0].SeriesDescription and low[0].SeriesInstanceUID != standard[0].SeriesInstanceUID
    # the same SUV, with the noise of fewer counts
    liver_std, liver_low = _organ_suv(standard, "liver"), _organ_suv(low, "liver")
    assert liver_low.mean() == pytest.approx(liver_std.mean(), rel=0.05)
    assert liver_low.std() / liver_low.mean() > 1.5 * liver_std.std() / liver_std.mean()


# --- bad variants -------------------------------------------------------------------------------------
def test_burned_in_annotation_variant(tmp_path):
    defects = syn.Defects(burned_in_annotation=True)
    for ds in _read_back(syn.pet_series(tracer="FDG", patient=CHILD, seed=2, n_slices=3, rows=64, cols=64, defects=defects)
                         + syn.ct_series(patient=CHILD, seed=2, n_slices=2, rows=64, cols=64, defects=defects), tmp_path):
        assert ds.BurnedInAnnotation == "YES"
        assert ds.pixel_array[2:6, 2:40].max() == ds.pixel_array.max()  # the marks are the brightest pixels
    (nm,) = syn.mibg_spect_series(patient=CHILD, seed=2, n_slices=4, rows=32, cols=32, defects=defects)
    assert nm.BurnedInAnnotation == "YES"
    clean = syn.pet_series(tracer="FDG", patient=CHILD, seed=2, n_slices=1, rows=64, cols=64)[0]
    assert clean.BurnedInAnnotation == "NO"


def test_demographics_that_disagree_with_the_registry():
    ds = syn.pet_series(tracer="FDG", patient=CHILD, seed=2, n_slices=1, rows=16, cols=16,
                        defects=syn.Defects(wrong_sex=True, wrong_birth_date=True))[0]
    assert ds.PatientSex == "M" != CHILD.sex
    assert ds.PatientBirthDate != CHILD.birth_date.strftime("%Y%m%d")
    assert ds.PatientAge == "007Y"  # consistent with the (wrong) birth date in the file
    assert ds.PatientID == CHILD.study_id  # the same pseudonym: exactly the case a wrong-patient guard must catch


def test_missing_sop_instance_uid_variant(tmp_path):
    pet = syn.pet_series(tracer="FDG", patient=CHILD, seed=2, n_slices=3, rows=16, cols=16,
                         defects=syn.Defects(missing_sop_instance_uid=True))
    assert "SOPInstanceUID" not in pet[0] and all("SOPInstanceUID" in ds for ds in pet[1:])
    read = _read_back(pet, tmp_path)  # still a Part 10 file: the file meta keeps (0002,0003)
    assert "SOPInstanceUID" not in read[0] and read[0].file_meta.MediaStorageSOPInstanceUID
    (nm,) = syn.mibg_spect_series(patient=CHILD, seed=2, n_slices=2, rows=16, cols=16,
                                  defects=syn.Defects(missing_sop_instance_uid=True))
    assert "SOPInstanceUID" not in nm


def test_vendor_private_tags_for_the_keep_list(tmp_path):
    defects = syn.Defects(philips_private=True, ge_private=True, private_phi=True)
    (ds,) = _read_back(syn.pet_series(tracer="FDG", patient=CHILD, seed=2, n_slices=1, rows=32, cols=32, defects=defects),
                       tmp_path)
    assert ds[0x7053, 0x0010].value == "Philips PET Private Group"
    assert float(ds[0x7053, 0x1000].value) == pytest.approx(_suvbw_factor(ds), rel=1e-6)  # the SUV scale factor
    assert float(ds[0x7053, 0x1009].value) == 1.0
    assert ds[0x0009, 0x0010].value == "GEMS_PETD_01"
    assert ds[0x0009, 0x100D].value.startswith(ds.SeriesDate + ds.SeriesTime)
    assert ds[0x0019, 0x0010].value == "NBNM SYNTHETIC PHI" and CHILD.study_id in ds[0x0019, 0x1001].value
    plain = syn.pet_series(tracer="FDG", patient=CHILD, seed=2, n_slices=1, rows=32, cols=32)[0]
    assert not any(elem.tag.is_private for elem in plain)


def test_legacy_snomed_rt_codes():
    ds = syn.pet_series(tracer="GA68_DOTATATE", patient=CHILD, seed=2, n_slices=1, rows=8, cols=8, code_scheme="SRT")[0]
    item = ds.RadiopharmaceuticalInformationSequence[0]
    assert (item.RadionuclideCodeSequence[0].CodeValue, item.RadionuclideCodeSequence[0].CodingSchemeDesignator) == ("C-131A3", "SRT")
    assert item.RadiopharmaceuticalCodeSequence[0].CodingSchemeDesignator == "SCT"  # DOTATATE has no SRT code
    fdg = syn.pet_series(tracer="FDG", patient=CHILD, seed=2, n_slices=1, rows=8, cols=8, code_scheme="SRT")[0]
    assert fdg.RadiopharmaceuticalInformationSequence[0].RadionuclideCodeSequence[0].CodeValue == "C-111A1"
    (nm,) = syn.mibg_spect_series(patient=CHILD, seed=2, n_slices=2, rows=8, cols=8, code_scheme="SRT")
    assert nm.RadiopharmaceuticalInformationSequence[0].RadionuclideCodeSequence[0].CodeValue == "C-114A4"


# --- determinism ----------------------------------------------------------------------------------------
def _all_bytes(seed: int, folder: Path) -> list[bytes]:
    pet, ct = syn.pet_ct_study(tracer="FDG", patient=CHILD, seed=seed, n_slices=6, rows=32, cols=32, ct_rows=32, ct_cols=32,
                               defects=syn.Defects(philips_private=True))
    nm, nm_ct = syn.spect_ct_study(patient=CHILD, seed=seed, n_slices=6, rows=32, cols=32, ct_rows=32, ct_cols=32)
    return [p.read_bytes() for p in syn.write_series(pet + ct + nm + nm_ct, folder)]


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path):
    first, second, other = _all_bytes(21, tmp_path / "a"), _all_bytes(21, tmp_path / "b"), _all_bytes(22, tmp_path / "c")
    assert first == second
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_benchmark_slices_are_75_kb_pet_instances():
    slices = list(syn.pet_slice_bytes(seed=1, n=5, slices_per_series=3))
    assert len(slices) == 5 and slices == list(syn.pet_slice_bytes(seed=1, n=5, slices_per_series=3))
    for raw in slices:
        assert 74_000 < len(raw) < 80_000
        ds = pydicom.dcmread(io.BytesIO(raw))
        assert (ds.Modality, ds.Rows, ds.Columns, ds.BitsAllocated) == ("PT", 192, 192, 16)
    assert len({pydicom.dcmread(io.BytesIO(r)).SOPInstanceUID for r in slices}) == 5
    assert len({pydicom.dcmread(io.BytesIO(r)).StudyInstanceUID for r in slices}) == 2  # 3 + 2 slices, one study each


def test_patient_like_rejects_nonsense():
    with pytest.raises(ValueError):
        syn.PatientLike(study_id="X", sex="male", birth_date=date(2018, 1, 1), weight_kg=20)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        syn.PatientLike(study_id="X", sex="M", birth_date=date(2018, 1, 1), weight_kg=-1)
    with pytest.raises(ValueError):
        syn.study_context(patient=CHILD, seed=1, study_date=date(2017, 1, 1))  # before birth


def test_a_patient_without_height_gets_no_patient_size_but_a_sized_phantom():
    child = syn.PatientLike(study_id="NB-TEST-003", sex="M", birth_date=date(2021, 2, 1), weight_kg=12.5)
    ds = syn.pet_series(tracer="FDG", patient=child, seed=4, n_slices=30, rows=64, cols=64)
    assert "PatientSize" not in ds[0] and ds[0].PatientAge in ("003Y", "004Y")
    assert _organ_suv(ds, "liver").mean() == pytest.approx(2.0, rel=0.05)


def test_measure_raw_from_the_benchmark_is_importable(tmp_path):
    spec = importlib.util.spec_from_file_location("dicom_raw", ROOT / "bench" / "dicom_raw.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    paths = module.generate(tmp_path, n=4, rows=32, cols=32, seed=1)
    result = module.measure_raw(paths)
    assert result["instances"] == 4 and result["instances_per_s"] > 0 and result["mb_per_s"] > 0


# --- The fast path of the demo seeder (slices cloned from the first, element encodings reused) -----------------------
@pytest.mark.parametrize("defects", [syn.Defects(), syn.Defects(burned_in_annotation=True, private_phi=True, philips_private=True,
                                                                  ge_private=True, missing_sop_instance_uid=True, wrong_sex=True)])
def test_write_series_writes_what_dcmwrite_writes_byte_for_byte(tmp_path, defects):
    child = syn.PatientLike(study_id="SH-0001", sex="F", birth_date=date(2019, 2, 3), weight_kg=15.0)
    pet, ct = syn.pet_ct_study(tracer="F18_FDG", patient=child, seed=7, n_slices=6, rows=16, cols=16, ct_rows=24, ct_cols=24,
                               defects=defects)
    nm, ct2 = syn.spect_ct_study(patient=child, seed=9, n_slices=5, rows=16, cols=16, ct_rows=16, ct_cols=16, defects=defects)
    datasets = [*pet, *ct, *nm, *ct2, syn.ct_dose_sr(ct=ct, patient=child, dlp_mgy_cm=12.5)]
    paths = syn.write_series(datasets, tmp_path)
    for ds, path in zip(datasets, paths, strict=True):
        buffer = io.BytesIO()
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
        assert path.read_bytes() == buffer.getvalue(), path.name


def test_slices_cloned_from_the_first_are_independent(tmp_path):
    child = syn.PatientLike(study_id="SH-0002", sex="M", birth_date=date(2018, 5, 6), weight_kg=18.0)
    pet = syn.pet_series(tracer="F18_FDG", patient=child, seed=3, n_slices=4, rows=8, cols=8)
    assert len({str(ds.SOPInstanceUID) for ds in pet}) == 4
    assert [ds.file_meta.MediaStorageSOPInstanceUID for ds in pet] == [ds.SOPInstanceUID for ds in pet]
    assert [int(ds.InstanceNumber) for ds in pet] == [1, 2, 3, 4]
    assert len({float(ds.ImagePositionPatient[2]) for ds in pet}) == 4
    pet[1].PatientID = "CHANGED"
    pet[1].ImageOrientationPatient[0] = "0"
    pet[1].RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose = "1"
    assert {str(ds.PatientID) for ds in (pet[0], pet[2], pet[3])} == {"SH-0002"}
    assert all(ds.ImageOrientationPatient[0] == 1 for ds in (pet[0], pet[2], pet[3]))
    assert all(ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose != 1 for ds in (pet[0], pet[2], pet[3]))
    # a file read back is not one this module built: written by dcmwrite, unchanged
    first = syn.write_series(pet[:1], tmp_path / "a")[0]
    again = syn.write_series([pydicom.dcmread(first)], tmp_path / "b")[0]
    assert pydicom.dcmread(again).PatientID == "SH-0002"
