"""Arranging analysis tests: synthetic studies ingested and run through the whole pipeline (eager Celery)."""
from collections.abc import Sequence
from pathlib import Path

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
