"""Arranging imaging tests: a consented registry patient and synthetic series written to files."""
import io
import zipfile
from datetime import date
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from imaging import synthetic
from registry.models import Hospital, Patient, User
from registry.tests.builders import consented_patient

SAMPLES = [Path(__file__).parent / "data", Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "dicom"]


def sample(name: str) -> Path:
    for folder in SAMPLES:
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(name)


def child(actor: User, hospital: Hospital) -> Patient:
    return consented_patient(actor, hospital, sex="F", birth_date=date(2019, 3, 15), diagnosis_date=date(2020, 9, 15))


def like(patient: Patient, **overrides: object) -> synthetic.PatientLike:
    fields = {"study_id": patient.study_id, "sex": patient.sex, "birth_date": patient.birth_date, "weight_kg": 18.0,
              "height_cm": 108.0, **overrides}
    return synthetic.PatientLike(**fields)  # type: ignore[arg-type]


def pet_files(tmp: Path, patient: Patient, *, seed: int = 1, n: int = 6, **kwargs: object) -> list[Path]:
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=seed, n_slices=n, rows=32, cols=32,
                                    **kwargs)  # type: ignore[arg-type]
    folder = tmp / f"pet-{seed}"
    folder.mkdir(exist_ok=True)
    return synthetic.write_series(datasets, folder)


def as_upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="application/dicom")


def stow(client, query: str, *parts: bytes, **headers):  # type: ignore[no-untyped-def]
    """POST the parts to STOW-RS (`/dicomweb/studies` + `query`) as one multipart/related request."""
    body = b"".join(b"--bnd\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n" for p in parts) + b"--bnd--\r\n"
    return client.post(f"/dicomweb/studies{query}", data=body,
                       content_type='multipart/related; type="application/dicom"; boundary=bnd', **headers)


def zip_of(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def ingest_spy(monkeypatch, module) -> list[tuple[bool, bool]]:  # type: ignore[no-untyped-def]
    """Record, for every file `module` hands to its `ingest`, whether it came in memory and whether on disk."""
    handed: list[tuple[bool, bool]] = []
    real = module.ingest

    def spy(**kwargs):  # type: ignore[no-untyped-def]
        handed.extend((f.data is not None, f.path is not None) for f in kwargs["files"])
        return real(**kwargs)

    monkeypatch.setattr(module, "ingest", spy)
    return handed
