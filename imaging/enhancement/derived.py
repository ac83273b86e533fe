"""The enhanced volume as a new derived DICOM series (pydicom), stored and indexed through the ingest service.

Each slice is a copy of its source instance (so the patient, study, frame of reference and SUV attributes - Units,
Radiopharmaceutical Information Sequence, Decay Correction, Corrected Image - are the source's), with:
- new Series and SOP Instance UIDs under the platform's root (2.25, UUID-derived);
- ImageType DERIVED\\SECONDARY, DerivationDescription naming the model, its version and SHA-256 prefix, and a
  SourceImageSequence item pointing at the source instance;
- the enhanced pixels as unsigned 16-bit with a per-slice Rescale Slope (values below 0 clipped to 0: activity).
The files then go through `imaging.services.ingest.ingest` like an upload, so they are de-identified, deduplicated,
audited and indexed, and their own pipeline runs (the "enhance" step then sees a derived series and stops there).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from imaging.enhancement.models import EnhancementModel
from imaging.models import Instance, Series, Upload
from imaging.services.ingest import IncomingFile, ingest
from imaging.volume import Volume, read_dataset

SERIES_NUMBER_OFFSET = 900


def derivation_description(model: EnhancementModel) -> str:
    return f"Enhanced by {model.name} {model.version} (ONNX, sha256 {model.sha256[:12]})"[:1024]


def _encode(values: np.ndarray) -> tuple[bytes, float]:
    clipped = np.clip(values.astype(np.float64), 0.0, None)
    peak = float(clipped.max())
    slope = peak / 65535.0 if peak > 0 else 1.0
    stored = np.rint(clipped / slope).astype("<u2")
    return stored.tobytes(), slope


def derived_datasets(*, instances: list[Instance], volume: Volume, enhanced: np.ndarray, model: EnhancementModel) -> list[Dataset]:
    """One dataset per slice of the volume (single-frame source instances; a multi-frame source is refused earlier)."""
    by_id = {inst.pk: inst for inst in instances}
    series_uid = generate_uid(prefix=None)  # 2.25.<UUID as an integer>: the platform's root (as imaging.dicom.deid)
    description = derivation_description(model)
    out: list[Dataset] = []
    for k, instance_id in enumerate(volume.instance_ids):
        ds = read_dataset(by_id[instance_id])  # a fresh parse of the source instance, changed in place
        source_class, source_uid = ds.SOPClassUID, ds.SOPInstanceUID
        pixels, slope = _encode(enhanced[k])
        ds.SOPInstanceUID = generate_uid(prefix=None)
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = (int(ds.get("SeriesNumber") or 0) + SERIES_NUMBER_OFFSET) % 2**31
        ds.ImageType = ["DERIVED", "SECONDARY"]
        ds.DerivationDescription = description
        ref = Dataset()
        ref.ReferencedSOPClassUID = source_class
        ref.ReferencedSOPInstanceUID = source_uid
        ds.SourceImageSequence = Sequence([ref])
        ds.SeriesDescription = f"{model.name} {model.version}"[:64]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept = f"{slope:.10g}"[:16], "0"
        for keyword in ("SmallestImagePixelValue", "LargestImagePixelValue", "NumberOfFrames"):
            if keyword in ds:
                del ds[keyword]
        ds.PixelData = pixels
        ds["PixelData"].VR = "OW"
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        out.append(ds)
    return out


def ingest_derived(*, series: Series, instances: list[Instance], volume: Volume, enhanced: np.ndarray,
                   model: EnhancementModel) -> Series:
    """Write, ingest (as the model's registrant, the user who caused the run) and return the new series."""
    datasets = derived_datasets(instances=instances, volume=volume, enhanced=enhanced, model=model)
    with tempfile.TemporaryDirectory(prefix="nbnm-enhance-") as tmp:
        files = []
        for n, ds in enumerate(datasets):
            path = Path(tmp) / f"{n:05d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            files.append(IncomingFile(path.name, path))
        upload = ingest(actor=model.registered_by, patient=series.study.patient, files=files, source=Upload.Source.ENHANCE)
    return Series.objects.filter(instances__upload=upload).distinct().get()
