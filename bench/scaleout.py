"""Scale-out benchmark: the series pipeline on 1, then 2, analysis worker processes (real Celery workers on Redis).

    .venv/bin/python bench/scaleout.py [--series 12] [--slices 64] [--size 128] [--workers 1,2]

What `docker compose up --scale analysis=N` does, on this machine: N `celery worker --pool=solo -Q <queue>.analysis`
processes take series from the one analysis queue (the work engine's claim gives each series to one of them). For each
worker count, the script ingests a fresh set of synthetic PET series (their analysis held on a queue nobody consumes),
starts the workers and waits until each says it is ready, then queues every series at once and times until all are
done. It prints series/s and instances/s per worker count and the ratio to one worker.

Everything is its own: a redis-server on a free port (no persistence), queue names of its own, a throw-away SQLite
database and media folder under a temporary directory (or the PostgreSQL database DATABASE_URL names, which must be
empty and disposable: it is migrated and written to). With 2 cores, 2 workers can at best double the rate, and only
while nothing else runs: the load average is printed with the figures.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.local_services import free_port as _free_port  # noqa: E402
from bench.local_services import redis_answers as _redis_answers  # noqa: E402
from bench.local_services import wait_until as _wait  # noqa: E402
from bench.site import bench_site, consented_child, pet_files  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=12, help="series per run (default 12)")
    parser.add_argument("--slices", type=int, default=64)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--workers", default="1,2", help="worker process counts to run, comma-separated (default 1,2)")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("bench/scaleout.py needs redis-server (apt-get install redis-server)")

    work = Path(tempfile.mkdtemp(prefix="nbnm-bench-scaleout-"))
    port = _free_port()
    log = (work / "services.log").open("a")
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    database = os.environ.get("DATABASE_URL", "")
    if not database.startswith("postgres"):
        database = f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ.update({"NBNM_VAR_DIR": str(work / "var"), "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DATABASE_URL": database,
                       "MEDIA_ROOT": str(work / "media"), "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
                       "CELERY_TASK_DEFAULT_QUEUE": f"hold-{uuid.uuid4().hex[:8]}", "IMAGING_PIPELINE_SETTLE_SECONDS": "0",
                       "LOG_LEVEL": "WARNING", "INGEST_WORKERS": "0"})
    try:
        _wait(lambda: _redis_answers(port), 10, "redis-server did not start")
        _run(args, work, log)
    finally:
        os.killpg(redis.pid, signal.SIGKILL)
        redis.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, work: Path, log) -> None:  # type: ignore[no-untyped-def]
    import django

    django.setup()

    from config.celery_app import app
    from config.queues import ANALYSIS, queue_name
    from imaging.models import Series
    from imaging.services.ingest import IncomingFile, ingest
    from registry.services.work import work_send

    site = bench_site(code="SCALE", name_en="Scale-out", name_zh="扩展")

    def ingest_series(count: int, first_seed: int) -> list[int]:
        ids = []
        for i in range(count):
            patient = consented_child(site)
            seed = first_seed + i
            paths = pet_files(patient, seed=seed, slices=args.slices, size=args.size, folder=work / f"in-{seed}")
            ingest(actor=site.user, patient=patient, source="command", files=[IncomingFile(p.name, p) for p in paths])
            ids.append(Series.objects.get(study__patient=patient).pk)
            shutil.rmtree(work / f"in-{seed}")
        return ids

    results: dict[int, float] = {}
    print(f"{args.series} synthetic PET series of {args.slices} slices {args.size}x{args.size} per run; "
          f"database {os.environ['DATABASE_URL'].split(':')[0]}; broker redis (own port); load average before: "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    for n_workers in [int(v) for v in args.workers.split(",")]:
        # Ingested with their analysis queued on the holding queue, which no worker consumes.
        ids = ingest_series(args.series, first_seed=1000 * n_workers)
        run_queue = f"run-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "CELERY_TASK_DEFAULT_QUEUE": run_queue}
        worker_log = work / f"workers-{n_workers}.log"
        with worker_log.open("w") as wl:
            procs = [subprocess.Popen([sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "--pool=solo",
                                       "-Q", queue_name(ANALYSIS, run_queue), "-n", f"analysis{i}@%h", "--without-gossip",
                                       "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
                                      cwd=ROOT, env=env, stdout=wl, stderr=subprocess.STDOUT, start_new_session=True)
                     for i in range(n_workers)]
        try:
            _wait(lambda log=worker_log, n=n_workers: log.read_text().count(" ready.") >= n, 120,
                  f"workers did not start: {worker_log.read_text()[-3000:]}", every=0.2)
            previous = app.conf.task_default_queue
            app.conf.task_default_queue = run_queue
            started = time.perf_counter()
            for pk in ids:
                work_send(Series, pk)
            app.conf.task_default_queue = previous

            def done(ids: list[int] = ids) -> bool:
                return Series.objects.filter(pk__in=ids, pipeline_state=Series.PipelineState.DONE).count() == len(ids)

            _wait(done, 1800, f"not every series was analysed: {worker_log.read_text()[-3000:]}", every=0.05)
            elapsed = time.perf_counter() - started
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        failed = Series.objects.filter(pk__in=ids, pipeline_state=Series.PipelineState.FAILED).count()
        results[n_workers] = args.series / elapsed
        print(f"{n_workers} worker process{'es' if n_workers > 1 else ''}: {args.series} series in {elapsed:.2f} s = "
              f"{results[n_workers]:.2f} series/s, {results[n_workers] * args.slices:.0f} instances/s"
              + (f" ({failed} failed)" if failed else ""))
    if 1 in results:
        for n, rate in results.items():
            if n != 1:
                print(f"ratio {n} workers / 1 worker: {rate / results[1]:.2f}")
    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
