"""Arranging analysis tests: synthetic studies ingested and run through the whole pipeline (eager Celery)."""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from imaging import synthetic
from imaging.models import ImagingStudy, Series
from imaging.services.ingest import IncomingFile, ingest
from registry.models import Patient, User


def ingest_datasets(actor: User, patient: Patient, datasets: Sequence[Dataset], folder: Path, capture) -> ImagingStudy:  # type: ignore[no-untyped-def]
    """Write, ingest and run the pipeline (on commit) for the datasets of one study; returns the study."""
    paths = synthetic.write_series(datasets, folder)
    with capture(execute=True):
        upload = ingest(actor=actor, patient=patient, source="api", files=[IncomingFile(p.name, p) for p in paths])
    assert upload.accepted == len(paths), upload.items
    uid = Series.objects.filter(instances__upload=upload).values_list("study__study_uid", flat=True).first()
    return ImagingStudy.objects.get(study_uid=uid)


def pipeline_done(study: ImagingStudy) -> None:
    for series in study.series.all():
        assert series.pipeline_state == Series.PipelineState.DONE, (series.modality, series.pipeline_error, series.pipeline_steps)


def qiba_factor(ds: Dataset) -> float:
    """SUVbw factor derived here, independently of nucmed, from one BQML/START image's attributes (QIBA):
    weight (g) / (total dose x 2^-(scan - injection)/T½), scan = series time, injection = the start date-time
    (or the series date + start time)."""
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    scan = datetime.strptime(f"{ds.SeriesDate}{str(ds.SeriesTime).split('.')[0]}", "%Y%m%d%H%M%S")
    frac = float("0." + str(ds.SeriesTime).split(".")[1]) if "." in str(ds.SeriesTime) else 0.0
    if rp.get("RadiopharmaceuticalStartDateTime"):
        injection = datetime.strptime(str(rp.RadiopharmaceuticalStartDateTime)[:14], "%Y%m%d%H%M%S")
        injection_frac = 0.0
    else:
        start = str(rp.RadiopharmaceuticalStartTime)
        injection = datetime.strptime(f"{ds.SeriesDate}{start.split('.')[0]}", "%Y%m%d%H%M%S")
        injection_frac = float("0." + start.split(".")[1]) if "." in start else 0.0
    elapsed = (scan - injection).total_seconds() + frac - injection_frac
    decayed = float(rp.RadionuclideTotalDose) * 2 ** (-elapsed / float(rp.RadionuclideHalfLife))
    return float(ds.PatientWeight) * 1000.0 / decayed


@dataclass(frozen=True)
class SpherePhantom:
    datasets: list[Dataset]
    factor: float
    centre_mm: tuple[float, float, float]
    radius_mm: float
    sphere_suv: float
    background_suv: float
    voxel_mm: float


def sphere_phantom(child: synthetic.PatientLike, *, seed: int = 5, n: int = 16, size: int = 32, sphere_suv: float = 8.0,
                   background_suv: float = 1.0, radius_mm: float = 30.0) -> SpherePhantom:
    """A BQML PET series (real header from the generator) whose pixels are rewritten to a uniform body of
    `background_suv` with a sphere of `sphere_suv`, exactly, with a different RescaleSlope on every slice."""
    probe = synthetic.pet_series(tracer="F18_FDG", patient=child, seed=seed, n_slices=1, rows=size, cols=size)[0]
    spacing = float(probe.PixelSpacing[0])  # slices as thick as the pixels are wide: cubic voxels
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=child, seed=seed, n_slices=n, rows=size, cols=size,
                                    slice_thickness_mm=spacing)
    first = datasets[0]
    factor = qiba_factor(first)
    x0, y0 = float(first.ImagePositionPatient[0]), float(first.ImagePositionPatient[1])
    zs = sorted(float(ds.ImagePositionPatient[2]) for ds in datasets)
    centre = (x0 + spacing * (size // 2), y0 + spacing * (size // 2), zs[n // 2])
    xs = x0 + spacing * np.arange(size)
    ys = y0 + spacing * np.arange(size)
    for k, ds in enumerate(datasets):
        z = float(ds.ImagePositionPatient[2])
        inside = (xs[None, :] - centre[0]) ** 2 + (ys[:, None] - centre[1]) ** 2 + (z - centre[2]) ** 2 <= radius_mm**2
        suv = np.where(inside, sphere_suv, background_suv)
        slope = round((sphere_suv / factor) / 30000 * (1 + 0.1 * k), 6)  # per-slice slopes, as GE writes them
        ds.RescaleSlope = repr(slope)[:16]
        ds.PixelData = np.rint(suv / factor / float(ds.RescaleSlope)).astype("<i2").tobytes()
    return SpherePhantom(datasets, factor, centre, radius_mm, sphere_suv, background_suv, spacing)
