"""DIMSE benchmark: dcmtk's storescu sends the same 1,000 synthetic PET slices (one association) to the platform's
listener and to Orthanc's DICOM port, in the same run; prints instances/s for both and the ratio.

The platform's time runs from storescu's start until every instance is filed (validated, de-identified, stored,
indexed: the listener files an association when it ends); the analysis steps are queued to an in-memory broker nobody
consumes, as with a worker. Orthanc's time is storescu's own (Orthanc stores as it receives). Orthanc does not
de-identify: matching it while de-identifying is the target (ANCHORS.md).

    .venv/bin/python bench/dimse.py [--n 1000]

A throw-away database and var folder (bench.ingest), the listener and Orthanc on free loopback ports, both stopped at
the end. Orthanc is skipped with a message when its binary (Debian `orthanc`) is missing.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pydicom

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dicom_raw import generate  # noqa: E402
from bench.ingest import _free_port, _setup, _throwaway_database  # noqa: E402

SENDER = "BENCHSCU"


def _wait_port(port: int, seconds: float = 60) -> None:
    import socket

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listening on {port}")


def _storescu(called: str, port: int, files: list[Path]) -> float:
    started = time.perf_counter()
    subprocess.run(["storescu", "-aet", SENDER, "-aec", called, "127.0.0.1", str(port), *map(str, files)], check=True,
                   capture_output=True)
    return started


def _platform(files: list[Path], groups: dict[str, list[Path]]) -> float:
    _token, patients = _setup(groups)
    # As a scanner does with a worklist item: the images carry the child's study ID as PatientID (not timed).
    for series_uid, paths in groups.items():
        for path in paths:
            ds = pydicom.dcmread(path)
            ds.PatientID = ds.PatientName = patients[series_uid]
            ds.save_as(path)
    from imaging.models import Instance, UnmatchedInstance, Upload
    from imaging.services.network import dicom_node_register
    from registry.access import HospitalRole
    from registry.models import Hospital, User
    from registry.services.hospitals import membership_grant

    system = User.objects.get(username="system")
    hospital = Hospital.objects.get(code="BENCH")
    manager = User.objects.create(username="bench-dm")
    membership_grant(actor=system, user=manager, role=HospitalRole.DATA_MANAGER, hospital=hospital)
    dicom_node_register(actor=manager, hospital=hospital, ae_title=SENDER)
    port = _free_port()
    listener = subprocess.Popen([sys.executable, "manage.py", "dicom_listener", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=ROOT, env={**os.environ, "CELERY_BROKER_URL": "memory://"})
    try:
        _wait_port(port)
        started = _storescu("NBNM", port, files)
        deadline = time.monotonic() + 60 + len(files) / 5
        while Instance.objects.count() < len(files):
            if time.monotonic() > deadline or listener.poll() is not None:  # a bench that fails says why
                raise RuntimeError(f"the listener filed {Instance.objects.count()} of {len(files)} instances; "
                                   f"unmatched {UnmatchedInstance.objects.count()}, uploads {list(Upload.objects.values('accepted', 'rejected'))}")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        listener.terminate()
        listener.wait(timeout=60)
    return len(files) / elapsed


def _orthanc(files: list[Path], work: Path) -> float | None:
    binary = shutil.which("Orthanc")
    if binary is None:
        print("Orthanc skipped: its binary is missing (apt-get install orthanc)")
        return None
    db = work / "orthanc" / "db"
    db.mkdir(parents=True)
    port = _free_port()
    config = work / "orthanc" / "orthanc.json"
    config.write_text(json.dumps({"Name": "Bench", "StorageDirectory": str(db), "IndexDirectory": str(db), "HttpPort": _free_port(),
                                  "DicomPort": port, "DicomAet": "ORTHANC", "RemoteAccessAllowed": False,
                                  "AuthenticationEnabled": False, "DicomCheckCalledAet": False, "Plugins": []}))
    server = subprocess.Popen([binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        started = _storescu("ORTHANC", port, files)
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=60)
    return len(files) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("storescu") is None:
        print("needs dcmtk's storescu: make dicom-tools")
        return 2
    work = Path(tempfile.mkdtemp(prefix="nbnm-bench-dimse-"))
    os.environ.update({"NBNM_VAR_DIR": str(work / "var"), "DJANGO_SETTINGS_MODULE": "config.settings.dev",
                       "DJANGO_DEBUG": "false", "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")})
    os.environ.pop("CELERY_BROKER_URL", None)
    files = generate(work / "in", n=args.n)
    print(f"{len(files)} synthetic PET slices, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB, one storescu association each")
    groups: dict[str, list[Path]] = defaultdict(list)
    for p in files:
        groups[str(pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["SeriesInstanceUID"]).SeriesInstanceUID)].append(p)
    try:
        with _throwaway_database():
            ours = _platform(files, groups)  # sets Django up (bench.ingest._setup)
            theirs = _orthanc(files, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"platform listener (C-STORE, de-identified + stored + indexed, analysis queued): {ours:.0f} instances/s")
    if theirs is not None:
        print(f"Orthanc DICOM port, same files, same run: {theirs:.0f} instances/s")
        print(f"ratio platform / Orthanc: {ours / theirs:.2f} (target >= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
