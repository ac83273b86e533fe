"""API load test: the main list endpoints and the worklist under 1, 10 and 50 clients, next to a trivial DRF endpoint
served by the same gunicorn in the same run (issue 19). Only the ratios hold on a shared machine.

    .venv/bin/python bench/api.py [--seconds 8] [--clients 1,10,50] [--workers 2] [--reseed]

Locust (the `bench` extra) drives the load headless, in this process, one endpoint at a time: each endpoint at each
client count runs for --seconds after a one-second warm-up, and prints req/s, p50/p95/p99 (ms) and errors. The anchor
(`/bench/trivial/`, bench/urls.py) has the same authentication, renderer and middleware as every API view and does
nothing else. The targets: worklist p50 < 10 ms at 1 client; at 50 clients each main list >= 0.25x the anchor's
throughput and its p95 < 4x the anchor's p95.

The database is the demo's (`seed_demo`, its whole registry cohort, the other apps at --scale), seeded once into
var/bench/api.sqlite3 and copied for each run (--reseed to rebuild it); or, when DATABASE_URL names a PostgreSQL
server, a fresh database created there, seeded, and dropped at the end. Gunicorn runs config/gunicorn.conf.py
(preload, gc.freeze) on a free loopback port with --no-control-socket, with bench/settings.py (DEBUG off, no throttle).
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import gevent  # noqa: E402
import requests  # noqa: E402
from locust import FastHttpUser, constant, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED_CACHE = ROOT / "var" / "bench" / "api.sqlite3"
ANCHOR = "/bench/trivial/"
# (label, path, demo user): the coordinator of the lead hospital, as in issue 19, and the data manager's worklist.
ENDPOINTS = [
    ("trivial DRF (anchor)", ANCHOR, "coord_bjyy"),
    ("worklist (coordinator)", "/api/v1/worklist/", "coord_bjyy"),
    ("worklist (data manager)", "/api/v1/worklist/", "datamanager"),
    ("patients", "/api/v1/patients/", "coord_bjyy"),
    ("trial subjects", "/api/v1/trials/subjects/", "coord_bjyy"),
    ("imaging studies", "/api/v1/imaging/studies/", "coord_bjyy"),
    ("adverse events", "/api/v1/safety/adverse-events/", "coord_bjyy"),
]
MAIN_LISTS = {"worklist (coordinator)", "patients", "trial subjects", "imaging studies", "adverse events"}
TOKENS = """
from rest_framework.authtoken.models import Token
from registry.models import User
for name in {names!r}:
    print(name, Token.objects.get_or_create(user=User.objects.get(username=name))[0].key)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def _seed(env: dict[str, str], scale: float) -> None:
    started = time.perf_counter()
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo", "--scale", str(scale))
    print(f"seeded the demo in {time.perf_counter() - started:.0f} s")


def _database(work: Path, env: dict[str, str], args: argparse.Namespace) -> str | None:
    """Prepare the run's database; returns the PostgreSQL database to drop at the end, if any."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        parts = urlsplit(url)
        name = f"nbnm_bench_api_{uuid.uuid4().hex[:8]}"
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        _seed(env, args.scale)
        return name
    env.pop("DATABASE_URL", None)
    if args.reseed or not SEED_CACHE.exists():
        SEED_CACHE.parent.mkdir(parents=True, exist_ok=True)
        seed_env = {**env, "NBNM_VAR_DIR": str(SEED_CACHE.parent / "seeding")}
        shutil.rmtree(seed_env["NBNM_VAR_DIR"], ignore_errors=True)
        _seed(seed_env, args.scale)
        shutil.move(str(Path(seed_env["NBNM_VAR_DIR"]) / "nbnm.sqlite3"), SEED_CACHE)
    (work / "var").mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED_CACHE, work / "var" / "nbnm.sqlite3")
    return None


def _drop(name: str) -> None:
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _load(base: str, path: str, token: str, clients: int, seconds: float) -> dict[str, float]:
    class Client(FastHttpUser):
        host = base
        wait_time = constant(0)

        @task
        def get(self) -> None:
            self.client.get(path, headers={"Authorization": f"Token {token}"}, name=path)

    env = Environment(user_classes=[Client])
    runner = env.create_local_runner()
    runner.start(clients, spawn_rate=clients)
    gevent.sleep(1.0 + clients / 10)  # warm-up: every client connected and a request in flight, caches filled
    env.stats.reset_all()
    started = time.perf_counter()
    gevent.sleep(seconds)
    elapsed = time.perf_counter() - started
    stats = env.stats.get(path, "GET")
    result = {"rps": stats.num_requests / elapsed, "p50": stats.get_response_time_percentile(0.5),
              "p95": stats.get_response_time_percentile(0.95), "p99": stats.get_response_time_percentile(0.99),
              "requests": stats.num_requests, "errors": stats.num_failures}
    runner.quit()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per endpoint and client count")
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the machine has 2 cores)")
    parser.add_argument("--scale", type=float, default=0.3, help="seed_demo --scale for the other apps' data")
    parser.add_argument("--reseed", action="store_true", help="rebuild the cached SQLite seed")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]

    work = Path(tempfile.mkdtemp(prefix="nbnm-bench-api-"))
    env = {**os.environ, "NBNM_VAR_DIR": str(work / "var"), "DJANGO_SETTINGS_MODULE": "bench.settings",
           "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING"}
    env.pop("CELERY_BROKER_URL", None)
    dropped = _database(work, env, args)
    names = sorted({user for _l, _p, user in ENDPOINTS})
    printed = [line.split() for line in _manage(env, "shell", "-c", TOKENS.format(names=names)).splitlines()]
    tokens = {words[0]: words[1] for words in printed if len(words) == 2 and words[0] in names}
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "config/gunicorn.conf.py",
                               "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--log-level", "warning",
                               "--access-logfile", "/dev/null", "--no-control-socket"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    rows: dict[tuple[str, int], dict[str, float]] = {}
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet
                pass
            time.sleep(0.2)
        for label, path, user in ENDPOINTS:
            probe = requests.get(base + path, headers={"Authorization": f"Token {tokens[user]}"}, timeout=30)
            size = len(probe.content)
            print(f"{label}: {path} as {user}: HTTP {probe.status_code}, {size / 1024:.1f} KB, "
                  f"count {probe.json().get('count', '-') if probe.ok else '-'}")
        print(f"\n{'endpoint':<26}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for clients in counts:
            for label, path, user in ENDPOINTS:
                r = _load(base, path, tokens[user], clients, args.seconds)
                rows[(label, clients)] = r
                print(f"{label:<26}{clients:>8}{r['rps']:>9.0f}{r['p50']:>9.0f}{r['p95']:>9.0f}{r['p99']:>9.0f}"
                      f"{r['errors']:>8.0f}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if dropped:
            _drop(dropped)
        shutil.rmtree(work, ignore_errors=True)
    return _verdict(rows, counts)


def _verdict(rows: dict[tuple[str, int], dict[str, float]], counts: list[int]) -> int:
    anchor = "trivial DRF (anchor)"
    ok = True
    print()
    if 1 in counts:
        p50 = rows[("worklist (coordinator)", 1)]["p50"]
        print(f"worklist p50 at 1 client: {p50:.0f} ms (target < 10 ms); anchor p50 {rows[(anchor, 1)]['p50']:.0f} ms")
        ok &= p50 < 10
    top = max(counts)
    a = rows[(anchor, top)]
    for label in sorted(MAIN_LISTS):
        r = rows[(label, top)]
        throughput, p95 = r["rps"] / a["rps"], r["p95"] / max(a["p95"], 1)
        met = throughput >= 0.25 and p95 < 4 and not r["errors"]
        ok &= met
        print(f"{label} at {top} clients: {throughput:.2f}x the anchor's req/s (target >= 0.25), p95 {p95:.1f}x the "
              f"anchor's (target < 4), errors {r['errors']:.0f}: {'met' if met else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
