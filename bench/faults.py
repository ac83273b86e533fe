"""Fault benchmark: 1,000 instances in 10 series through the real stack while workers die and Redis restarts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/faults.py

Two runs of the same work, each in a throw-away PostgreSQL database (the workers share it, so SQLite will not do),
with its own Redis (a free port, no persistence), a gunicorn and Celery workers (prefork, 2 processes):

- anchor: the 10 uploads (100 synthetic 192x192 PET slices each, one request per series), no faults;
- faults: the same, while the whole worker is killed with SIGKILL twice mid-series (a new one started each time)
  and Redis is stopped, one upload sent during the outage, and Redis started again (empty: every message it held
  is gone).

Each run prints the time from the first upload until every series is `done`, and counts what came out: series
done, instances analysed (in a done series) out of 1,000, duplicates (instances, each step's audited write, previews).
The sweep, which the beat runs every 5 minutes, is run by this script every 2 s, and the workers run with short
timings (lease 30 s instead of 900 s): recovery waits for a lease to expire, so in production it takes that much
longer. Both runs use the same timings; the anchor measured in the same run is the figure the fault run compares to.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pydicom
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dicom_raw import generate  # noqa: E402
from bench.ingest import _free_port, _setup, _throwaway_database, _upload  # noqa: E402
from bench.local_services import redis_answers as _redis_answers  # noqa: E402
from bench.local_services import wait_until as _wait  # noqa: E402

SERIES, PER_SERIES = 10, 100
# In the order the settings require (soft < hard < visibility < lease); the sweep re-sends work pending 10 s.
TIMINGS = {"CELERY_TASK_SOFT_TIME_LIMIT": "20", "CELERY_TASK_TIME_LIMIT": "25", "CELERY_VISIBILITY_TIMEOUT": "28",
           "JOB_LEASE_SECONDS": "30", "JOB_STALE_AFTER_SECONDS": "10", "JOB_RETRY_BASE_SECONDS": "5", "JOB_RETRY_MAX_SECONDS": "20"}
SWEEP_EVERY_S = 2.0


class Services:
    """The processes one run starts (Redis, gunicorn, Celery workers), each in a session of its own, all stopped at the end."""

    def __init__(self, work: Path) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.redis_port = _free_port()
        self.log = (work / "services.log").open("a")
        self.redis: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.server: subprocess.Popen[bytes] | None = None

    @property
    def broker(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def _spawn(self, args: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(args, cwd=ROOT, env=os.environ.copy(), stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_redis(self) -> None:
        self.redis = self._spawn(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--daemonize", "no"])
        _wait(lambda: _redis_answers(self.redis_port), 10, "redis-server did not start")

    def stop_redis(self) -> None:
        if self.redis is not None:
            os.killpg(self.redis.pid, signal.SIGKILL)
            self.redis.wait()

    def start_worker(self) -> None:
        self.workers.append(self._spawn([sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "--pool=prefork",
                                         "--concurrency=2", "--without-gossip", "--without-mingle", "--without-heartbeat",
                                         "--loglevel=WARNING"]))

    def kill_worker(self) -> None:
        """kill -9 of the whole worker: its main process and its pool's children."""
        worker = self.workers[-1]
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()

    def start_server(self) -> str:
        port = _free_port()
        self.server = self._spawn([sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
                                   "--workers", "1", "--timeout", "600", "--log-level", "warning", "--no-control-socket"])
        base = f"http://127.0.0.1:{port}"
        _wait(lambda: _listening(f"{base}/healthz"), 60, "gunicorn did not start", every=0.2)
        return base

    def stop_all(self) -> None:
        for proc in [*self.workers, self.server, self.redis]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.log.close()


def _listening(url: str) -> bool:
    try:
        requests.get(url, timeout=5)
        return True
    except requests.RequestException:
        return False


def _run(mode: str, inputs: Path, work: Path) -> dict[str, Any]:
    """One run in this process (a fresh database, Django set up once): returns what it measured."""
    services = Services(work)
    os.environ.update({"NBNM_VAR_DIR": str(work / "var"), "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DJANGO_DEBUG": "false",
                       "LOG_LEVEL": "WARNING", "CELERY_BROKER_URL": services.broker, "CELERY_TASK_DEFAULT_QUEUE": "bench", **TIMINGS})
    groups: dict[str, list[Path]] = defaultdict(list)
    for p in sorted(inputs.glob("*.dcm")):
        groups[str(pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["SeriesInstanceUID"]).SeriesInstanceUID)].append(p)
    try:
        services.start_redis()
        token, patients = _setup(groups)
        base = services.start_server()
        services.start_worker()
        return _exercise(mode, services, base, token, patients, groups)
    finally:
        services.stop_all()


def _exercise(mode: str, services: Services, base: str, token: str, patients: dict[str, str],
              groups: dict[str, list[Path]]) -> dict[str, Any]:
    from django.utils import timezone

    from imaging.models import Series
    from registry.services.work import work_requeue_stale

    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    stranded: set[int] = set()
    faults: list[str] = []

    worker_since = [timezone.now()]

    def kill_mid_series() -> None:
        # A series the current worker claimed (one left running by the previous kill does not count).
        claimed = Series.objects.filter(pipeline_state=Series.PipelineState.RUNNING, pipeline_started_at__gte=worker_since[0])
        _wait(claimed.exists, 120, "no series ran", every=0.01)
        services.kill_worker()
        running = set(claimed.values_list("pk", flat=True))
        stranded.update(running)
        faults.append(f"worker killed -9 with {len(running)} series running")
        worker_since[0] = timezone.now()
        services.start_worker()

    accepted, started = 0, time.perf_counter()
    for n, (series_uid, files) in enumerate(groups.items(), start=1):
        outage = mode == "faults" and n == 7
        if outage:
            services.stop_redis()
        accepted += _upload(session, base, patients[series_uid], files, "upload")  # raises unless 201
        if outage:
            faults.append("Redis stopped; an upload of 100 during the outage answered 201; Redis started again (empty)")
            services.start_redis()
        if mode == "faults" and n in (3, 8):
            kill_mid_series()
    last_sweep = 0.0
    deadline = time.monotonic() + 900
    while Series.objects.exclude(pipeline_state=Series.PipelineState.DONE).exists():
        if time.monotonic() > deadline:
            break
        if time.monotonic() - last_sweep >= SWEEP_EVERY_S:
            work_requeue_stale()
            last_sweep = time.monotonic()
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    return {"mode": mode, "seconds": round(elapsed, 1), "accepted": accepted, **_counts(), "stranded": len(stranded), "faults": faults}


def _counts() -> dict[str, Any]:
    from django.db.models import Count

    from imaging.models import ImagingStudy, Instance, Preview, Series
    from registry.models import AuditEvent

    done = Series.objects.filter(pipeline_state=Series.PipelineState.DONE)
    # Duplicated work shows as more than one row, or more than one audited write, for one thing.
    step_events = sum(row["n"] - 1 for row in AuditEvent.objects.filter(action__in=["compute_suv", "compute_dose"])
                      .values("action", "object_id").annotate(n=Count("id")))
    previews = sum(row["n"] - 1 for row in Preview.objects.values("series", "kind", "index").annotate(n=Count("id")))
    instances = Instance.objects.count() - Instance.objects.values("sop_instance_uid").distinct().count()
    return {
        "series_done": done.count(), "series": Series.objects.count(), "studies": ImagingStudy.objects.count(),
        "instances": Instance.objects.count(), "analysed": Instance.objects.filter(series__in=done).count(),
        "duplicates": {"instances": instances, "step_audit_events": step_events, "previews": previews},
        "retried": Series.objects.filter(pipeline_attempts__gt=1).count(),
        "attempts": dict(Counter(Series.objects.values_list("pipeline_attempts", flat=True))),
    }


def _child(mode: str, inputs: Path, work: Path) -> int:
    with _throwaway_database():
        result = _run(mode, inputs, work)
    print("RESULT " + json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["anchor", "faults"], help=argparse.SUPPRESS)  # one run, in a child process
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        return _child(args.mode, args.inputs, args.work)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("bench/faults.py needs DATABASE_URL naming a PostgreSQL server: the workers share the database", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="nbnm-bench-faults-"))
    inputs = work / "in"
    generate(inputs, n=SERIES * PER_SERIES)
    print(f"{SERIES * PER_SERIES} synthetic PET slices (192x192) in {SERIES} series; PostgreSQL, an own Redis, gunicorn, "
          f"Celery prefork x2; lease {TIMINGS['JOB_LEASE_SECONDS']} s, sweep every {SWEEP_EVERY_S:.0f} s")
    results = {}
    for mode in ("anchor", "faults"):
        run = subprocess.run([sys.executable, __file__, "--mode", mode, "--inputs", str(inputs), "--work", str(work / mode)],
                             cwd=ROOT, capture_output=True, text=True)
        line = next((x for x in run.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(run.stdout[-3000:], run.stderr[-5000:], f"kept for inspection: {work}", sep="\n")
            return 1
        results[mode] = json.loads(line[len("RESULT "):])
    total = SERIES * PER_SERIES
    print(f"{'run':<24}{'until every series done':>24}{'series done':>13}{'analysed':>12}{'duplicates':>12}{'re-run':>8}")
    for mode, label in (("anchor", "without faults (anchor)"), ("faults", "with faults")):
        r = results[mode]
        print(f"{label:<24}{r['seconds']:>22.1f} s{r['series_done']:>9}/{r['series']:<3}{r['analysed']:>7}/{total:<4}"
              f"{sum(r['duplicates'].values()):>12}{r['retried']:>8}")
    print("faults: " + "; ".join(results["faults"]["faults"]))
    print(f"series left running by the kills: {results['faults']['stranded']}; series by attempts (faults run): "
          + ", ".join(f"{n} x {k}" for k, n in sorted(results["faults"]["attempts"].items())))
    print(f"ratio faults / anchor: {results['faults']['seconds'] / results['anchor']['seconds']:.2f} "
          f"(a killed worker's series waits for its lease to expire: {TIMINGS['JOB_LEASE_SECONDS']} s here)")
    print("duplicates by kind (faults run): " + json.dumps(results["faults"]["duplicates"]))
    ok = all(r["analysed"] == total and r["series_done"] == SERIES and not any(r["duplicates"].values())
             for r in results.values())
    if ok:
        shutil.rmtree(work)
    else:  # the services' logs are the first thing to read
        print(f"kept for inspection: {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
