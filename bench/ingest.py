"""Ingest benchmark: N synthetic PET slices uploaded over HTTP to a running server, end to end.

Validated, de-identified, stored, indexed: the ingest runs the pipeline's index step itself, so it is inside
the measured time. The analysis steps queued after it (SUV, dose, previews) run on a Celery worker in
production; here they are queued to an in-memory broker nobody consumes (`--analysis queued`, the default,
what the target measures), or run in the request as in the broker-less demo (`--analysis inline`, Celery
eager: the SUV step reads the whole series back, the preview step renders PNGs). Printed next to the pydicom read+write rate of the same files
measured in the same run (ANCHORS.md: a ratio holds on a shared machine, an absolute time does not).

    .venv/bin/python bench/ingest.py [--n 2000] [--batch 100] [--path upload|raw|stow] [--orthanc auto|no]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/ingest.py --batch 1 --defer

`--defer` sends each request with `Prefer: respond-async` (imaging.services.receipts): the server answers 202 once
the file is spooled, and a real Celery worker (started here, on a Redis database of its own, consuming only the
ingest queue) files the receipts in groups. The rate printed is end to end: from the first request until the last
receipt is filed, read from the database; the rate of the acknowledgements alone is printed beside it. It needs Redis
on 127.0.0.1; on SQLite (the default) the filer's transaction holds the one write lock while it files a batch, so the
acknowledgements wait for it: PostgreSQL, as in production, shows the path as deployed.

When Orthanc is installed (Debian `orthanc`, `orthanc-dicomweb` for STOW-RS) it is run first on the same files from
a private folder on free loopback ports, one instance per request for REST (its API has no other way) and --batch
per request for STOW-RS, and its rate and the ratio are printed beside the platform's.

It makes its own throw-away database (a SQLite file under a temporary directory, or, when DATABASE_URL names a
PostgreSQL server, a fresh database on that server, dropped at the end) and media folder, starts gunicorn on a
free loopback port, and stops it at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pydicom
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dicom_raw import ANCHOR, generate, measure_raw  # noqa: E402
from bench.site import bench_site  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _throwaway_database() -> Iterator[None]:
    """Point DATABASE_URL at a new PostgreSQL database for this run (a second run must not meet the first's rows)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        os.environ.pop("DATABASE_URL", None)  # SQLite under NBNM_VAR_DIR
        yield
        return
    parts = urlsplit(url)
    name = f"nbnm_bench_ingest_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _setup(groups: dict[str, list[Path]]) -> tuple[str, dict[str, str]]:
    """Hospital, a coordinator with a token, and one consented registry patient per synthetic child."""
    import django

    django.setup()
    from datetime import date

    from rest_framework.authtoken.models import Token

    from registry.services.consent import consent_record_create
    from registry.services.patients import patient_register

    site = bench_site()
    user, hospital, document = site.user, site.hospital, site.document
    patients = {}
    for n, (series_uid, files) in enumerate(groups.items()):
        ds = pydicom.dcmread(files[0], stop_before_pixels=True)
        birth = date(int(ds.PatientBirthDate[:4]), int(ds.PatientBirthDate[4:6]), int(ds.PatientBirthDate[6:]))
        patient = patient_register(actor=user, hospital=hospital, identity={"name": f"Bench {n}", "record_number": f"B{n}"},
                                   sex=str(ds.PatientSex), birth_date=birth, diagnosis_date=birth, primary_site="adrenal",
                                   inrgss_stage="M", inrg_risk="high", mycn="amplified", aberration_11q="no",
                                   ploidy="diploid", histology="unfavourable")
        consent_record_create(actor=user, patient=patient, document=document, assent="not_applicable", signed_date=birth,
                              guardian1_relationship="mother")
        patients[series_uid] = patient.study_id
    return Token.objects.create(user=user).key, patients


def _upload(session: requests.Session, base: str, study_id: str, files: list[Path], path: str, defer: bool = False) -> int:
    """Send the files in one request; how many were accepted (filed, or with --defer received)."""
    prefer = {"Prefer": "respond-async"} if defer else {}
    if path == "stow":
        r = _stow(session, f"{base}/dicomweb/studies?patient={study_id}", files, prefer)
    elif path == "raw":  # the file as the whole body, as to Orthanc's POST /instances
        (only,) = files
        r = session.post(f"{base}/api/v1/imaging/uploads/", params={"patient": study_id}, data=only.read_bytes(),
                         headers={"Content-Type": "application/dicom", **prefer})
    else:
        handles = [("files", (f.name, f.open("rb"), "application/dicom")) for f in files]
        try:
            r = session.post(f"{base}/api/v1/imaging/uploads/", data={"patient": study_id}, files=handles, headers=prefer)
        finally:
            for _, (_, fh, _) in handles:
                fh.close()
    if r.status_code != (202 if defer else 200 if path == "stow" else 201):
        raise SystemExit(f"{path} answered {r.status_code}: {r.text[:300]}")
    if defer:  # the files are acknowledged, filed later: count the receipts
        return len(r.json()["receipts"])
    if path == "stow":
        return len(r.json().get("00081199", {}).get("Value", []))
    return r.json()["accepted"]


DEFER_BROKER = "redis://127.0.0.1:6379/13"
WARM_UP = 40  # files filed before timing with --defer (not counted), at least the ingest pool's threshold


def _until_filed(started: float, timeout: float = 600) -> float:
    """Seconds from `started` until no receipt is waiting or being filed (every one filed or refused)."""
    from imaging.models import IntakeReceipt

    deadline = time.monotonic() + timeout
    while IntakeReceipt.objects.filter(state__in=["received", "filing"]).exists():
        if time.monotonic() > deadline:
            raise SystemExit("receipts still waiting after the timeout: is the worker running?")
        time.sleep(0.02)
    refused = IntakeReceipt.objects.exclude(state="filed").count()
    if refused:
        raise SystemExit(f"{refused} receipts refused")
    return time.perf_counter() - started


def _server_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children (gunicorn's master and worker) so far."""
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _wait(url: str) -> None:
    for _ in range(150):
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:  # not listening yet
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def _orthanc(paths: list[Path], work: Path, path: str, batch: int) -> float | None:
    """Orthanc's rate for the same files, one instance per request (REST POST /instances, or STOW-RS through its
    DICOMweb plugin), run from a private folder on free loopback ports (ANCHORS.md). None when it is not installed."""
    binary = shutil.which("Orthanc")
    if binary is None:
        print("Orthanc skipped: its binary is missing (apt-get install orthanc orthanc-dicomweb)")
        return None
    plugin = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
    if path == "stow" and not plugin.exists():
        print("Orthanc skipped: its DICOMweb plugin is missing (apt-get install orthanc-dicomweb)")
        return None
    db = work / "orthanc" / "db"
    db.mkdir(parents=True)
    port = _free_port()
    config = work / "orthanc" / "orthanc.json"
    config.write_text(json.dumps({"Name": "Bench", "StorageDirectory": str(db), "IndexDirectory": str(db), "HttpPort": port,
                                  "DicomPort": _free_port(), "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
                                  "Plugins": [str(plugin)] if path == "stow" else [],
                                  "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}}))
    server = subprocess.Popen([binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/system")
        session = requests.Session()
        started, cpu_before, client_before = time.perf_counter(), _server_cpu(server.pid), time.process_time()
        requests_sent = -(-len(paths) // batch) if path == "stow" else len(paths)
        if path == "stow":
            for i in range(0, len(paths), batch):
                _stow(session, f"{base}/dicom-web/studies", paths[i:i + batch])
        else:
            for p in paths:  # Orthanc's REST API takes one instance per request
                session.post(f"{base}/instances", data=p.read_bytes()).raise_for_status()
        elapsed = time.perf_counter() - started
        # Its CPU per instance: the figure that holds on a loaded machine, beside the platform's (a ratio of CPU).
        print(f"Orthanc server CPU per instance: {1000 * (_server_cpu(server.pid) - cpu_before) / len(paths):.1f} ms; "
              f"client CPU per request: {1000 * (time.process_time() - client_before) / requests_sent:.1f} ms")
    finally:
        server.terminate()
        server.wait(timeout=60)
    return len(paths) / elapsed


def _stow(session: requests.Session, url: str, files: list[Path], headers: dict[str, str] | None = None) -> requests.Response:
    boundary = uuid.uuid4().hex
    body = b"".join(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + f.read_bytes() + b"\r\n"
                    for f in files) + b"--" + boundary.encode() + b"--\r\n"
    r = session.post(url, data=body, headers={"Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
                                              **(headers or {})})
    r.raise_for_status()
    return r


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100, help="instances per HTTP request")
    parser.add_argument("--path", choices=["upload", "raw", "stow"], default="upload",
                        help="upload: the upload API's multipart form; raw: its application/dicom body, one file per "
                             "request (--batch 1); stow: DICOMweb STOW-RS")
    parser.add_argument("--orthanc", choices=["auto", "no"], default="auto",
                        help="auto: also time Orthanc on the same files in the same run when it is installed")
    parser.add_argument("--analysis", choices=["queued", "inline"], default="queued",
                        help="queued: SUV/dose/preview steps queued as with a worker (default); inline: run in the request")
    parser.add_argument("--defer", action="store_true",
                        help="Prefer: respond-async; a real Celery worker files the receipts (PostgreSQL and Redis)")
    args = parser.parse_args()
    if args.path == "raw" and args.batch != 1:
        parser.error("--path raw sends one file per request: give --batch 1")

    work = Path(tempfile.mkdtemp(prefix="nbnm-bench-"))
    os.environ.update({"NBNM_VAR_DIR": str(work / "var"), "DJANGO_SETTINGS_MODULE": "config.settings.dev",
                       "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING"})
    os.environ.pop("CELERY_BROKER_URL", None)  # set-up runs eagerly; the server's broker is chosen in _run
    paths = generate(work / "in", n=args.n)
    size_mb = sum(p.stat().st_size for p in paths) / 1e6
    print(f"{len(paths)} synthetic PET slices, {size_mb:.1f} MB")
    raw = measure_raw(paths)

    groups: dict[str, list[Path]] = defaultdict(list)
    for p in paths:
        groups[str(pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["SeriesInstanceUID"]).SeriesInstanceUID)].append(p)
    theirs = _orthanc(paths, work, args.path, args.batch) if args.orthanc == "auto" else None
    with _throwaway_database():
        code, ours = _run(args, groups, raw, size_mb, len(paths))
    if theirs is not None:
        kind = "STOW-RS" if args.path == "stow" else "REST POST /instances"
        print(f"Orthanc {kind}, {1 if args.path != 'stow' else args.batch}/request, same files, same run: {theirs:.0f} instances/s")
        print(f"ratio platform / Orthanc: {ours / theirs:.2f} (target >= 1.0)")
    return code


def _run(args: argparse.Namespace, groups: dict[str, list[Path]], raw: dict[str, float], size_mb: float,
         total: int) -> tuple[int, float]:
    token, patients = _setup(groups)
    port = _free_port()
    env = {**os.environ, **({"CELERY_BROKER_URL": "memory://"} if args.analysis == "queued" else {})}
    worker = None
    if args.defer:  # a Redis database and a queue of the bench's own; the worker consumes only the ingest queue
        env |= {"CELERY_BROKER_URL": DEFER_BROKER, "CELERY_TASK_DEFAULT_QUEUE": f"bench-{uuid.uuid4().hex[:8]}"}
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "--pool=solo",
                                   "-Q", env["CELERY_TASK_DEFAULT_QUEUE"], "--without-gossip", "--without-mingle",
                                   "--without-heartbeat", "--loglevel=WARNING"], cwd=ROOT, env=env)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
                               "--workers", "1", "--timeout", "600", "--log-level", "warning", "--no-control-socket"],
                              cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/healthz", timeout=5)
                break
            except requests.RequestException:  # not listening yet, or still importing Django
                time.sleep(0.2)
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        if args.defer:  # the worker's first filing starts its ingest process pool: done before the clock starts
            warm_uid = next(iter(groups))
            warm, groups[warm_uid] = groups[warm_uid][:WARM_UP], groups[warm_uid][WARM_UP:]
            for i in range(0, len(warm), args.batch):
                _upload(session, base, patients[warm_uid], warm[i:i + args.batch], args.path, defer=True)
            _until_filed(time.perf_counter())
        pids = [server.pid] + ([worker.pid] if worker else [])
        accepted, started, cpu_before = 0, time.perf_counter(), sum(_server_cpu(pid) for pid in pids)
        client_before = time.process_time()
        cpu_before_server = _server_cpu(server.pid)
        for series_uid, files in groups.items():
            for i in range(0, len(files), args.batch):
                accepted += _upload(session, base, patients[series_uid], files[i:i + args.batch], args.path, args.defer)
        elapsed = time.perf_counter() - started
        # This client's own CPU: it runs on the same two cores as the server (and as Orthanc's client, the same code).
        print(f"client CPU per request: {1000 * (time.process_time() - client_before) / max(accepted // args.batch, 1):.1f} ms")
        if args.defer:
            acknowledged, receiving_cpu = accepted / elapsed, _server_cpu(server.pid)
            elapsed = _until_filed(started)
            print(f"acknowledged (202, spooled): {acknowledged:.0f} instances/s, gunicorn CPU per request "
                  f"{1000 * (receiving_cpu - cpu_before_server) / max(accepted, 1):.1f} ms; filed, end to end: below")
        cpu = sum(_server_cpu(pid) for pid in pids) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
        if worker:
            worker.terminate()
            worker.wait(timeout=60)
    rate = accepted / elapsed
    print(f"platform ingest ({args.path}, {args.batch}/request{', deferred: until the last receipt is filed' if args.defer else ''}, "
          f"validated + de-identified + stored + indexed, analysis steps {args.analysis}): "
          f"{rate:.0f} instances/s, {size_mb / elapsed:.1f} MB/s ({accepted} accepted in {elapsed:.1f} s)")
    # CPU seconds the server spent, per instance: what a request costs the machine, whatever else the machine runs
    # (the wall-clock rate depends on the load; on a shared machine this figure moves much less).
    print(f"server CPU per instance: {1000 * cpu / max(accepted, 1):.1f} ms (gunicorn master and worker"
          f"{', and the Celery worker filing' if args.defer else ''}, {cpu:.1f} s)")
    print(f"pydicom read+write of the same files, same run: {raw['instances_per_s']:.0f} instances/s "
          f"(anchor {ANCHOR})")
    print(f"ratio platform / pydicom limit: {rate / raw['instances_per_s']:.2f}")
    return (0 if accepted == total - (WARM_UP if args.defer else 0) else 1), rate


if __name__ == "__main__":
    sys.exit(main())
