"""The modality table (imaging/modalities.py) and the places that read it: each decision follows the table (no database)."""
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from imaging import modalities, previews, steps
from imaging.dicom.validate import check
from imaging.models import ImagingStudy, Series
from imaging.reading import rules
from nucmed.radiopharmaceuticals import CATALOGUE

NM_IMAGE = "1.2.840.10008.5.1.4.1.1.20"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def image(modality: str, sop_class: str = NM_IMAGE) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = modality
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel, ds.BitsAllocated = 1, 16
    ds.PixelData = b"\x00" * 32
    return ds


def test_the_table_holds_the_platforms_modalities_and_one_row_per_catalogue_tracer() -> None:
    assert [m.code for m in modalities.MODALITIES] == ["PT", "NM", "CT", "SR", "OT"]
    assert [t.code for t in modalities.TRACERS] == [r.code for r in CATALOGUE]
    assert {m.group for m in modalities.MODALITIES if m.group} <= set(ImagingStudy.ModalityGroup.values)
    scored = {system for t in modalities.TRACERS for system in t.scored_by}
    assert scored == set(rules.TRACERS) == {"curie", "siopen", "krenning"}


def test_only_pet_is_quantified_and_only_emission_images_carry_the_radiopharmaceutical() -> None:
    assert [m.code for m in modalities.MODALITIES if m.quantified] == ["PT"]
    assert modalities.EMISSION_MODALITIES == ("PT", "NM")
    assert (modalities.CT_DOSE_IMAGE_MODALITIES, modalities.CT_DOSE_REPORT_MODALITIES) == (("CT",), ("SR",))
    assert modalities.of("MR") is modalities.UNKNOWN and not modalities.UNKNOWN.quantified


@pytest.mark.parametrize(("codes", "group"), [({"CT", "PT"}, "pet_ct"), ({"CT", "NM"}, "spect_ct"), ({"CT", "SR"}, "ct"),
                                              ({"PT", "NM", "CT"}, "pet_ct"), ({"SR"}, ""), (set(), "")])
def test_the_study_group_is_the_first_row_present(codes: set[str], group: str) -> None:
    assert modalities.modality_group(codes) == group


@pytest.mark.parametrize("code", modalities.IMAGE_MODALITIES)
def test_every_image_modality_of_the_table_is_accepted_at_upload(code: str) -> None:
    assert check(image(code), size_bytes=1, max_bytes=1 << 20).accepted


@pytest.mark.parametrize("code", ["OT", "MR", "US", "DX"])
def test_a_modality_not_accepted_as_images_is_refused_naming_what_is(code: str) -> None:
    result = check(image(code), size_bytes=1, max_bytes=1 << 20)
    assert result.code == "modality_not_allowed"
    assert result.reason.endswith("allowed: PT, NM, CT, SR (dose reports).")


@pytest.mark.parametrize(("code", "accepted"), [("OT", True), ("PT", True), ("SR", False), ("MR", False)])
def test_a_secondary_capture_is_accepted_with_the_tables_image_modalities_or_other(code: str, accepted: bool) -> None:
    result = check(image(code, SECONDARY_CAPTURE), size_bytes=1, max_bytes=1 << 20)
    assert result.accepted is accepted
    assert (result.quarantine_code == "secondary_capture") if accepted else (result.code == "modality_not_allowed")


@pytest.mark.parametrize(("code", "quantified", "units"), [("CT", False, "HU"), ("CT", True, "HU"), ("PT", True, "SUV"),
                                                           ("PT", False, "Bq/ml"), ("NM", False, "counts"), ("NM", True, "counts")])
def test_preview_units_follow_the_table(code: str, quantified: bool, units: str) -> None:
    assert previews.display_for(code, np.arange(10, dtype=np.float32), quantified=quantified).units == units


@pytest.mark.parametrize("code", ["CT", "NM", "SR", "OT"])
def test_the_suv_step_applies_to_quantified_modalities_only(code: str) -> None:
    assert "not_applicable" in steps.suv_step(Series(modality=code))


@pytest.mark.parametrize("code", ["SR", "OT"])
def test_the_preview_step_skips_modalities_without_previews(code: str) -> None:
    result = steps.preview_step(Series(modality=code))
    assert result["not_applicable"] == f"No images to preview in a {code} series."  # the English kept for the API
    assert result["not_applicable_message"] == ["No images to preview in a %(modality)s series.", {"modality": code}]


def test_reading_systems_score_the_tracers_the_table_gives_them() -> None:
    assert rules.TRACERS == {"curie": ("I123_MIBG", "I131_MIBG"), "siopen": ("I123_MIBG", "I131_MIBG"), "krenning": ("GA68_DOTATATE",)}
    assert modalities.tracers_scored_by("curie") == tuple(t.code for t in modalities.TRACERS if "curie" in t.scored_by)
