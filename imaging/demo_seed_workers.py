"""The demo imaging seeder's helper processes: one writes the synthetic exams ahead of the ingest, two analyse series.

`seed_demo` spends most of its time in the imaging part, and most of that is CPU: building and writing the synthetic
DICOM files (pydicom), the ingest (de-identification, indexing) and the series analysis (SUV, dose, previews and the
WADO-RS metadata cache). On two cores, the seeder keeps both busy: a process of this module writes exam n+1, n+2, ...
while the seeder ingests exam n (in its own process), and the analysis of each series is queued as it is on a real
deployment and run, a study at a time, by two more processes of this module as the seeder goes on (imaging.demo_seed).

This module imports nothing of Django at its top: the processes are spawned, and Django is set up in the analysis
processes by `init_django` before any task that needs it arrives.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from imaging import synthetic

# BodyPartExamined of the CT half (descriptions do not survive de-identification; the dose step reads this).
CT_BODY_PART = {"MIBG": "ABDOMEN"}  # the synthetic SPECT/CT field is centred on the upper abdomen; PET/CT is whole body


def weight_for_age(years: float) -> float:
    """A rough median weight-for-age (kg) for believable activities; not a growth standard."""
    return round(3.5 + 6.5 * min(years, 1) + 2.3 * max(min(years, 12) - 1, 0) + 5.0 * max(years - 12, 0), 1)


@dataclass(frozen=True)
class ExamPlan:
    """Everything random about one exam, drawn up front by the seeder (so the demo is the same however it is run)."""

    folder: str
    study_id: str
    sex: str
    birth_date: date
    kind: str  # MIBG, F18_FDG, GA68_DOTATATE, F18_NAF
    study_date: date
    seed: int
    low_dose: bool
    dose_report_factor: float | None  # a CT dose report (SR) with DLP x this factor (scout and overranging), or none


def draw_plan(rng: random.Random, *, folder: str, study_id: str, sex: str, birth_date: date, kind: str, study_date: date,
              seed: int) -> ExamPlan:
    """The exam's random choices, drawn from `rng` in the order the seeder always drew them."""
    low_dose = kind != "MIBG" and rng.random() < 0.3
    with_report = kind != "MIBG" and rng.random() < 0.25
    return ExamPlan(folder=folder, study_id=study_id, sex=sex, birth_date=birth_date, kind=kind, study_date=study_date,
                    seed=seed, low_dose=low_dose, dose_report_factor=rng.uniform(1.0, 1.15) if with_report else None)


def exam_datasets(plan: ExamPlan) -> list:  # type: ignore[type-arg]
    """The datasets of one synthetic exam: the emission series, its CT (with BodyPartExamined), sometimes a dose SR."""
    age = (plan.study_date - plan.birth_date).days / 365.25
    child = synthetic.PatientLike(study_id=plan.study_id, sex=plan.sex, birth_date=plan.birth_date,  # type: ignore[arg-type]
                                  weight_kg=weight_for_age(age))
    size = {"n_slices": 16, "rows": 64, "cols": 64, "ct_rows": 64, "ct_cols": 64, "study_date": plan.study_date}
    if plan.kind == "MIBG":
        first, ct = synthetic.spect_ct_study(patient=child, seed=plan.seed, **size)  # type: ignore[arg-type]
    else:
        first, ct = synthetic.pet_ct_study(tracer=plan.kind, patient=child, seed=plan.seed, low_dose=plan.low_dose, **size)  # type: ignore[arg-type]
    for ds in ct:
        ds.BodyPartExamined = CT_BODY_PART.get(plan.kind, "WHOLEBODY")
    extra = []
    if plan.dose_report_factor is not None:
        dlp = float(ct[0].CTDIvol) * (len(ct) * float(ct[0].SliceThickness)) / 10 * plan.dose_report_factor
        extra.append(synthetic.ct_dose_sr(ct=ct, patient=child, dlp_mgy_cm=round(dlp, 2)))
    return [*first, *ct, *extra]


def write_exam(plan: ExamPlan) -> list[str]:
    """Write the exam's files into its own folder; their paths in order."""
    return [str(p) for p in synthetic.write_series(exam_datasets(plan), Path(plan.folder))]


def init_django() -> None:
    """Initializer of the analysis processes: the seeder's own settings (inherited through the environment)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    django.setup()


def analyse(series_ids: list[int]) -> None:
    """Run the pipelines of one study's series, in order, as a worker would: each claimed through the work engine,
    audited, each step once. One study per task, so two processes never compute the same study's dose at once."""
    from django.db import close_old_connections

    from imaging.models import Series
    from registry.services.work import work_execute

    close_old_connections()
    for series_id in series_ids:
        work_execute(model=Series, pk=series_id)
