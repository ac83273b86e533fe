"""The throw-away site the in-process benches seed: a temporary folder with its own SQLite database and media folder,
one hospital with one coordinator, and consented children with a synthetic PET series each.

Call `throwaway_environment()` before `django.setup()`; the rest needs Django set up and the database migrated.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from registry.models import Hospital, Patient, User

BIRTH = date(2017, 5, 1)


@contextmanager
def throwaway_environment(prefix: str, **extra: str) -> Iterator[Path]:
    """A temporary folder holding the database (SQLite, unless `extra` names another), media and var; removed after."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.update({"NBNM_VAR_DIR": str(work / "var"), "DJANGO_SETTINGS_MODULE": "config.settings.dev",
                       "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}", "MEDIA_ROOT": str(work / "media"), **extra})
    if "CELERY_BROKER_URL" not in extra:
        os.environ.pop("CELERY_BROKER_URL", None)  # eager Celery: nothing leaves the process
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass(frozen=True)
class BenchSite:
    user: User
    hospital: Hospital
    document: Any  # the registry consent document every child signs


def bench_site(*, code: str = "BENCH", name_en: str = "Bench", name_zh: str = "基准") -> BenchSite:
    """Migrate, then one hospital and its coordinator `bench`, and a consent document."""
    from django.core.management import call_command

    from registry.access import HospitalRole
    from registry.models import User
    from registry.services.hospitals import hospital_create, membership_grant
    from registry.tests.builders import make_document

    call_command("migrate", verbosity=0)
    system = User.objects.get(username="system")
    hospital = hospital_create(actor=system, code=code, name_zh=name_zh, name_en=name_en, province="Beijing", city="Beijing")
    user = User.objects.create(username="bench")
    membership_grant(actor=system, user=user, role=HospitalRole.COORDINATOR, hospital=hospital)
    return BenchSite(user=user, hospital=hospital, document=make_document())


def consented_child(site: BenchSite) -> Patient:
    """A girl born 2017-05-01 with the guardian's consent and her own assent, ready for imaging uploads."""
    from registry.services.consent import consent_record_create
    from registry.tests.builders import make_patient

    patient = make_patient(site.user, site.hospital, sex="F", birth_date=BIRTH, diagnosis_date=date(2024, 1, 10))
    consent_record_create(actor=site.user, patient=patient, document=site.document, assent="given", signed_date=date(2024, 1, 12),
                          guardian1_relationship="mother")
    return patient


def pet_files(patient: Patient, *, seed: int, slices: int, size: int, folder: Path) -> list[Path]:
    """A synthetic FDG PET series of the child (24 kg, 121 cm), written to `folder`."""
    from imaging import synthetic

    child = synthetic.PatientLike(study_id=patient.study_id, sex="F", birth_date=BIRTH, weight_kg=24.0, height_cm=121.0)
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=child, seed=seed, n_slices=slices, rows=size, cols=size,
                                    study=synthetic.study_context(patient=child, seed=seed, study_date=date(2024, 2, 1)))
    return synthetic.write_series(datasets, folder)
