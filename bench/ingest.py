"""Ingest benchmark: N synthetic PET slices uploaded over HTTP to a running server, end to end.

Validated, de-identified, stored, indexed: the ingest runs the pipeline's index step itself, so it is inside
the measured time. The analysis steps queued after it (SUV, dose, previews) run on a Celery worker in
production; here they are queued to an in-memory broker nobody consumes (`--analysis queued`, the default,
what the target measures), or run in the request as in the broker-less demo (`--analysis inline`, Celery
eager: the SUV step reads the whole series back, the preview step renders PNGs). Printed next to the pydicom read+write rate of the same files
measured in the same run (ANCHORS.md: a ratio holds on a shared machine, an absolute time does not).

    .venv/bin/python bench/ingest.py [--n 2000] [--batch 100] [--path upload|raw|stow] [--orthanc auto|no] [--rounds 4]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/ingest.py --batch 1 --defer

`--defer` sends each request with `Prefer: respond-async` (imaging.services.receipts): the server answers 202 once
the file is spooled, and a real Celery worker (started here, on a Redis database of its own, consuming only the
ingest queue) files the receipts in groups. The rate printed is end to end: from the first request until the last
receipt is filed, read from the database; the rate of the acknowledgements alone is printed beside it. It needs Redis
on 127.0.0.1; on SQLite (the default) the filer's transaction holds the one write lock while it files a batch, so the
acknowledgements wait for it: PostgreSQL, as in production, shows the path as deployed.

When Orthanc is installed (Debian `orthanc`, `orthanc-dicomweb` for STOW-RS) it is run on the same files from a
private folder on free loopback ports, one instance per request for REST (its API has no other way) and --batch per
request for STOW-RS, and its rate and the ratio are printed beside the platform's.

Rounds: on these shared machines the rate of the same program moves by a third within minutes (Orthanc alone gave
183-376 instances/s in one hour), so one platform run beside one Orthanc run minutes apart is a coin toss. The files
are split into --rounds slices; each round times Orthanc (a fresh store) and the platform (the same server, warm) on
the same slice straight after one another, the order alternating from round to round, and the ratio is the median
of the rounds' ratios (each round's two figures were taken under the same conditions). Every round of the platform is
timed to the last file filed (--defer: its receipts), so each pays the filing's tail.

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
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import groupby
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
WARM_UP = 40  # files filed before timing (not counted), at least the ingest pool's threshold


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


_ORTHANC_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


def _orthanc_missing(path: str) -> str | None:
    """Why Orthanc cannot run here, or None."""
    if shutil.which("Orthanc") is None:
        return "its binary is missing (apt-get install orthanc orthanc-dicomweb)"
    if path == "stow" and not _ORTHANC_PLUGIN.exists():
        return "its DICOMweb plugin is missing (apt-get install orthanc-dicomweb)"
    return None


def _orthanc(paths: list[Path], work: Path, path: str, batch: int) -> float:
    """Orthanc's rate for these files, one instance per request (REST POST /instances) or --batch per request (STOW-RS
    through its DICOMweb plugin), run on an empty store from a private folder on free loopback ports (ANCHORS.md)."""
    binary, plugin = shutil.which("Orthanc") or "Orthanc", _ORTHANC_PLUGIN
    home = Path(tempfile.mkdtemp(prefix="orthanc-", dir=work))  # a fresh store each round
    db = home / "db"
    db.mkdir()
    port = _free_port()
    config = home / "orthanc.json"
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
        # Its CPU per instance, beside the platform's.
        print(f"  Orthanc: {len(paths) / elapsed:.0f} instances/s; server CPU per instance "
              f"{1000 * (_server_cpu(server.pid) - cpu_before) / len(paths):.1f} ms; "
              f"client CPU per request {1000 * (time.process_time() - client_before) / requests_sent:.1f} ms")
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(home, ignore_errors=True)
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
    parser.add_argument("--rounds", type=int, default=4,
                        help="slices of the files, each timed on Orthanc and the platform back to back (the docstring)")
    parser.add_argument("--analysis", choices=["queued", "inline"], default="queued",
                        help="queued: SUV/dose/preview steps queued as with a worker (default); inline: run in the request")
    parser.add_argument("--defer", action="store_true",
                        help="Prefer: respond-async; a real Celery worker files the receipts (PostgreSQL and Redis)")
    args = parser.parse_args()
    if args.path == "raw" and args.batch != 1:
        parser.error("--path raw sends one file per request: give --batch 1")
    if not 1 <= args.rounds <= args.n // max(args.batch, 1):
        parser.error("--rounds: from 1 to the number of requests (--n / --batch)")

    work = Path(tempfile.mkdtemp(prefix="nbnm-bench-"))
    os.environ.update({"NBNM_VAR_DIR": str(work / "var"), "DJANGO_SETTINGS_MODULE": "config.settings.dev",
                       "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING"})
    os.environ.pop("CELERY_BROKER_URL", None)  # set-up runs eagerly; the server's broker is chosen in _run
    paths = generate(work / "in", n=args.n)
    size_mb = sum(p.stat().st_size for p in paths) / 1e6
    print(f"{len(paths)} synthetic PET slices, {size_mb:.1f} MB")
    raw = measure_raw(paths)
    if args.orthanc == "auto" and (missing := _orthanc_missing(args.path)):
        print(f"Orthanc skipped: {missing}")
        args.orthanc = "no"
    try:
        with _throwaway_database():
            return _run(args, paths, work, raw, size_mb)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _series_of(paths: list[Path]) -> dict[str, list[Path]]:
    """The files by series, in their order."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for p in paths:
        groups[str(pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["SeriesInstanceUID"]).SeriesInstanceUID)].append(p)
    return groups


def _run(args: argparse.Namespace, paths: list[Path], work: Path, raw: dict[str, float], size_mb: float) -> int:
    groups = _series_of(paths)
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
    series_of = {p: uid for uid, files in groups.items() for p in files}
    ours: list[float] = []
    theirs: list[float] = []
    acknowledged: list[float] = []  # each round's rate of answers (with --defer, of the 202s)
    accepted = cpu = elapsed_total = 0.0
    try:
        _wait(f"{base}/healthz")
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        # Warm-up, not timed: the first filing starts the ingest's process pool (the Celery worker's with --defer,
        # gunicorn's for a request of POOL_THRESHOLD files or more), which would land in the first round only.
        warm = groups[next(iter(groups))][:WARM_UP]
        for i in range(0, len(warm), args.batch):
            _upload(session, base, patients[series_of[warm[0]]], warm[i:i + args.batch], args.path, args.defer)
        if args.defer:
            _until_filed(time.perf_counter())
        warmed = set(warm)
        timed = [p for p in paths if p not in warmed]
        pids = [server.pid] + ([worker.pid] if worker else [])
        size = -(-len(timed) // args.rounds)
        for r in range(args.rounds):
            files = timed[r * size:(r + 1) * size]
            print(f"round {r + 1}/{args.rounds}: {len(files)} files")

            def platform(files: list[Path] = files) -> float:
                nonlocal accepted, cpu, elapsed_total
                before = sum(_server_cpu(pid) for pid in pids)
                n, elapsed, answered = _platform_round(session, base, patients, series_of, files, args, server.pid)
                spent = sum(_server_cpu(pid) for pid in pids) - before
                accepted, cpu, elapsed_total = accepted + n, cpu + spent, elapsed_total + elapsed
                acknowledged.append(answered)
                print(f"  platform: {n / elapsed:.0f} instances/s; server CPU per instance {1000 * spent / max(n, 1):.1f} ms")
                return n / elapsed

            def orthanc(files: list[Path] = files) -> float:
                return _orthanc(files, work, args.path, args.batch)

            # Alternate who goes first, so a machine slowing down or speeding up within a round favours neither.
            first, second = (orthanc, platform) if r % 2 == 0 else (platform, orthanc)
            if args.orthanc == "no":
                ours.append(platform())
                continue
            a, b = first(), second()
            mine, other = (b, a) if first is orthanc else (a, b)
            ours.append(mine)
            theirs.append(other)
            print(f"  ratio platform / Orthanc, round {r + 1}: {mine / other:.2f}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if worker:
            worker.terminate()
            worker.wait(timeout=60)
    rate = accepted / elapsed_total
    print(f"platform ingest ({args.path}, {args.batch}/request{', deferred: each round until its last receipt is filed' if args.defer else ''}, "
          f"validated + de-identified + stored + indexed, analysis steps {args.analysis}): "
          f"{rate:.0f} instances/s over the rounds, {size_mb * accepted / len(paths) / elapsed_total:.1f} MB/s "
          f"({accepted:.0f} accepted in {elapsed_total:.1f} s)")
    # CPU seconds the server spent, per instance: what a request costs the machine, whatever else the machine runs.
    print(f"server CPU per instance: {1000 * cpu / max(accepted, 1):.1f} ms (gunicorn master and worker"
          f"{', and the Celery worker filing' if args.defer else ''}, {cpu:.1f} s)")
    print(f"pydicom read+write of the same files, same run: {raw['instances_per_s']:.0f} instances/s (anchor {ANCHOR})")
    print(f"ratio platform / pydicom limit: {rate / raw['instances_per_s']:.2f}")
    if theirs:
        ratios = [m / o for m, o in zip(ours, theirs, strict=True)]
        kind = "STOW-RS" if args.path == "stow" else "REST POST /instances"
        print(f"Orthanc {kind}, {args.batch if args.path == 'stow' else 1}/request, same files, same rounds: "
              f"median {statistics.median(theirs):.0f} instances/s")
        print(f"ratio platform / Orthanc: median {statistics.median(ratios):.2f} of {len(ratios)} rounds "
              f"(from {min(ratios):.2f} to {max(ratios):.2f}; target >= 1.0)")
        if args.defer:  # what the sender sees (the target is the ratio above: filed, end to end)
            answers = [a / o for a, o in zip(acknowledged, theirs, strict=True)]
            print(f"ratio acknowledged / Orthanc (the sender's view, not the target): median {statistics.median(answers):.2f} "
                  f"(from {min(answers):.2f} to {max(answers):.2f})")
    return 0 if accepted == len(timed) else 1


def _platform_round(session: requests.Session, base: str, patients: dict[str, str], series_of: dict[Path, str],
                    files: list[Path], args: argparse.Namespace, server_pid: int) -> tuple[int, float, float]:
    """Send the files (--batch per request, never two series in one request) and time it until they are filed; the
    number accepted, the seconds, and the rate at which they were answered (with --defer, acknowledged)."""
    accepted, started, client_before, requests_sent = 0, time.perf_counter(), time.process_time(), 0
    receiving_before = _server_cpu(server_pid)
    for uid, same_series in groupby(files, key=series_of.__getitem__):
        run = list(same_series)
        for i in range(0, len(run), args.batch):
            accepted += _upload(session, base, patients[uid], run[i:i + args.batch], args.path, args.defer)
            requests_sent += 1
    elapsed = time.perf_counter() - started
    acknowledged = accepted / elapsed
    if args.defer:
        print(f"  acknowledged (202, spooled): {acknowledged:.0f} instances/s, gunicorn CPU per request "
              f"{1000 * (_server_cpu(server_pid) - receiving_before) / max(requests_sent, 1):.1f} ms; filed: below")
        elapsed = _until_filed(started)
    # This client's own CPU: it runs on the same two cores as the server (and as Orthanc's client, the same code).
    print(f"  client CPU per request: {1000 * (time.process_time() - client_before) / max(requests_sent, 1):.1f} ms")
    return accepted, elapsed, acknowledged


if __name__ == "__main__":
    sys.exit(main())
