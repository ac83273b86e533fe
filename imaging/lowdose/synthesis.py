"""Low-count versions of a PET series, synthesised from it: one sixth of the activity, or a 3-minute scan.

Used by the demo (imaging/lowdose/demo_seed.py) and its tests; nothing here touches the database.

Why thinning: a PET measurement is a Poisson count. Keeping each detected event with probability f (binomial
thinning) turns a Poisson count of mean N into a Poisson count of mean f*N (the thinning property of Poisson processes;
Kingman, Poisson Processes, Oxford 1993, section 5.1), which is what the same scanner records with f times the activity
or f times the scan time. Low-dose PET studies simulate reduced activity this way, by randomly undersampling the
list-mode events of a full-dose acquisition before reconstruction (e.g. Gatidis et al., Hell J Nucl Med
2016;19(1):15-18). Here the thinning is applied to an image, not to list-mode data: each voxel's activity
concentration is turned into its noise-equivalent count (counts = concentration x sensitivity x frame time), thinned,
and turned back into Bq/ml. That reproduces the mean and the 1/f growth of the variance, not the spatial correlation
a reconstruction gives the noise: good for a demonstration, not a substitute for list-mode resampling.
"""
from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence

LOW_ACTIVITY_FRACTION = 1 / 6  # the programme's low-dose protocol: one sixth of the activity (issue 18)
SHORT_SCAN_S = 180.0  # ... and a 3-minute scan
# Noise-equivalent counts per voxel at the body's mean concentration in the standard image: 1/sqrt(80) is 11 %, the
# relative noise imaging.synthetic gives its standard PET (0.30 white noise, about 0.375 of it left after its blur).
STANDARD_COUNTS_AT_MEAN = 80.0


def thin_counts(counts: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Each count kept with probability `fraction` (binomial thinning). Non-integer counts (an image's noise-equivalent
    counts) are first made integers by random rounding, which keeps their mean."""
    if not 0 < fraction <= 1:
        raise ValueError("the fraction kept is in (0, 1]")
    values = np.clip(np.asarray(counts, dtype=np.float64), 0.0, None)
    whole = np.floor(values)
    integers = (whole + (rng.random(values.shape) < values - whole)).astype(np.int64)
    return rng.binomial(integers, fraction).astype(np.float64)


def low_count(activity_bq_ml: np.ndarray, *, sensitivity: float, frame_s: float, rng: np.random.Generator,
              activity_fraction: float = 1.0, time_fraction: float = 1.0) -> np.ndarray:
    """The activity concentration (Bq/ml) the same scanner would show with `activity_fraction` of the activity and
    `time_fraction` of the frame time: counts = concentration x sensitivity (counts per Bq/ml per second) x frame time,
    thinned to the product of the two fractions, back to Bq/ml over the new frame time. With less activity the
    concentration falls by `activity_fraction` (the SUV stays, as the injected activity falls with it); with less
    time it stays; in both the variance grows as 1/fraction."""
    if sensitivity <= 0 or frame_s <= 0:
        raise ValueError("sensitivity and frame time are positive")
    counts = np.clip(np.asarray(activity_bq_ml, dtype=np.float64), 0.0, None) * sensitivity * frame_s
    kept = thin_counts(counts, activity_fraction * time_fraction, rng)
    return kept / (sensitivity * frame_s * time_fraction)


def sensitivity_for(activity_bq_ml: np.ndarray, *, frame_s: float, counts_at_mean: float = STANDARD_COUNTS_AT_MEAN,
                    mask_fraction: float = 0.05) -> float:
    """The sensitivity (counts per Bq/ml per second) that gives `counts_at_mean` counts to a voxel at the mean
    concentration of the body (voxels above `mask_fraction` of the maximum)."""
    values = np.asarray(activity_bq_ml, dtype=np.float64)
    body = values[values > mask_fraction * float(values.max())] if values.size and values.max() > 0 else values[:0]
    if not body.size:
        raise ValueError("the image is empty: no body to set the counts by")
    return counts_at_mean / (float(body.mean()) * frame_s)


def short_scan_fraction(*, frame_s_per_bed: float, beds: int, scan_s: float = SHORT_SCAN_S) -> float:
    """The fraction of the standard whole-body acquisition (`beds` bed positions of `frame_s_per_bed`) that a scan of
    `scan_s` in all keeps (at most 1)."""
    if frame_s_per_bed <= 0 or beds < 1:
        raise ValueError("a positive frame time and at least one bed")
    return min(1.0, scan_s / (frame_s_per_bed * beds))


def whole_body_beds(height_mm: float, bed_axial_mm: float = 150.0) -> int:
    """Bed positions a vertex-to-toes scan of a body of `height_mm` takes (no overlap counted)."""
    return max(1, math.ceil(height_mm / bed_axial_mm))


def _uid(*parts: object) -> str:
    """2.25.<128-bit integer>, drawn from `parts` (the same parts, the same UID), as the platform's UIDs are written."""
    return f"2.25.{int(hashlib.sha256('|'.join(map(str, parts)).encode()).hexdigest()[:32], 16)}"


def _copy(ds: Dataset, changes: dict[str, Any]) -> Dataset:
    """A new dataset with `ds`'s elements and `changes` as new elements. The unchanged elements are shared with `ds`
    (never changed in place here), which costs a fraction of a deep copy of every slice."""
    out = Dataset(dict(ds.items()))
    for keyword, value in changes.items():
        tag = tag_for_keyword(keyword)
        vr = "OW" if keyword == "PixelData" else dictionary_VR(tag)
        out[tag] = DataElement(tag, vr, value)  # a new element: `ds`'s own is left as it was
    return out


def _scaled_activity(ds: Dataset, fraction: float) -> DicomSequence | None:
    """The Radiopharmaceutical Information Sequence with RadionuclideTotalDose times `fraction` (a copy), or None when
    the activity is unchanged."""
    if fraction == 1.0 or "RadiopharmaceuticalInformationSequence" not in ds:
        return None
    items = copy.deepcopy(ds.RadiopharmaceuticalInformationSequence)  # small: one or two items
    for item in items:
        if item.get("RadionuclideTotalDose") is not None:
            item.RadionuclideTotalDose = str(round(float(item.RadionuclideTotalDose) * fraction))
    return items


def _stored(values: np.ndarray) -> tuple[bytes, float]:
    peak = float(values.max())
    slope = peak / 32767.0 if peak > 0 else 1.0
    return np.clip(np.rint(values / slope), 0, 32767).astype("<i2").tobytes(), slope


def low_count_series(datasets: Sequence[Dataset], *, seed: int, series_number: int, label: str, activity_fraction: float = 1.0,
                     time_fraction: float = 1.0, counts_at_mean: float = STANDARD_COUNTS_AT_MEAN) -> list[Dataset]:
    """A new series of the same study and frame of reference, from a PET series in Bq/ml (one image per slice): its
    pixels through `low_count`, RadionuclideTotalDose times `activity_fraction`, ActualFrameDuration times
    `time_fraction`. The datasets are copies, to be written and ingested like any upload (which files them in their
    study and analyses them); the originals are not changed. The UIDs are drawn from the source series' UID and the
    seed, so the same seed makes the same series."""
    if not datasets:
        raise ValueError("no images")
    first = datasets[0]
    frame_s = float(first.ActualFrameDuration) / 1000.0
    volume = np.stack([ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.get("RescaleIntercept", 0) or 0)
                       for ds in datasets])
    sensitivity = sensitivity_for(volume, frame_s=frame_s, counts_at_mean=counts_at_mean)
    rng = np.random.default_rng([seed, series_number])
    low = low_count(volume, sensitivity=sensitivity, frame_s=frame_s, rng=rng, activity_fraction=activity_fraction,
                    time_fraction=time_fraction)
    series_uid = _uid(first.SeriesInstanceUID, "low-count", seed, label)
    description = f"{first.get('SeriesDescription', 'PET')} {label}"[:64]
    frame_ms = max(1, round(float(first.ActualFrameDuration) * time_fraction))
    radiopharmaceutical = _scaled_activity(first, activity_fraction)
    out: list[Dataset] = []
    for k, ds in enumerate(datasets):
        pixels, slope = _stored(low[k])
        sop_uid = _uid(series_uid, k)
        c = _copy(ds, {"SeriesInstanceUID": series_uid, "SOPInstanceUID": sop_uid, "SeriesNumber": series_number,
                       "SeriesDescription": description, "ActualFrameDuration": frame_ms, "RescaleSlope": f"{slope:.8g}"[:16],
                       "RescaleIntercept": "0", "PixelRepresentation": 1, "PixelData": pixels,
                       **({"RadiopharmaceuticalInformationSequence": radiopharmaceutical} if radiopharmaceutical else {})})
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.file_meta.MediaStorageSOPClassUID
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ds.file_meta.TransferSyntaxUID
        c.file_meta = meta
        out.append(c)
    return out
