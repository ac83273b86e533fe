"""`make demo`'s imaging seeder with its helper processes (a file database and INGEST_WORKERS=2, as on a laptop):
files written ahead by one process, the analyses the ingest queues run by another. The test database is in memory,
which child processes cannot share, so this runs the real command in a process of its own on a throw-away SQLite file
and reads the outcome from that file."""
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings


@pytest.mark.timeout(900)  # migrate + seed in a fresh process: ~30 s on a quiet machine, minutes on a loaded one
def test_seed_with_helper_processes_analyses_every_series_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"NBNM_VAR_DIR": str(tmp_path), "MEDIA_ROOT": str(tmp_path / "media"), "INGEST_WORKERS": "2",
                "DJANGO_SETTINGS_MODULE": "config.settings.dev", "LOG_LEVEL": "WARNING"})

    def manage(*args: str) -> str:
        run = subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        return run.stdout

    manage("migrate", "--noinput")
    out = manage("seed_demo", "--patients", "60", "--scale", "0.04")
    assert re.search(r"Demo imaging: \d+ studies of 6 children \(\d+ instances\) .* \(files written ahead and analyses run by "
                     r"helper processes\)", out), out
    # The last line: the seconds of each part.
    assert re.search(r"Done in [\d.]+ s: network and logins [\d.]+ s, registry cohort [\d.]+ s, trials [\d.]+ s, "
                     r"imaging [\d.]+ s, reading [\d.]+ s", out), out
    cpu = re.search(r"CPU time: ([\d.]+) s \(([\d.]+) s in this process, ([\d.]+) s in its helper processes\)", out)
    assert cpu, out
    assert float(cpu[3]) > 0 and abs(float(cpu[1]) - float(cpu[2]) - float(cpu[3])) < 0.2  # the helpers' share is counted
    db = sqlite3.connect(tmp_path / "nbnm.sqlite3")
    states = dict(db.execute("select pipeline_state, count(*) from imaging_series group by pipeline_state").fetchall())
    assert set(states) == {"done"} and states["done"] > 6
    # Each analysis ran once: an SUV result per PET series and its audited write once, a dose per study.
    pet = db.execute("select count(*) from imaging_series where modality = 'PT'").fetchone()[0]
    assert db.execute("select count(*) from imaging_suvresult").fetchone()[0] == pet
    suv_writes = db.execute("select count(*), count(distinct object_id) from registry_auditevent where action = 'compute_suv'").fetchone()
    assert suv_writes[0] == suv_writes[1] == pet
    assert db.execute("select count(*) from imaging_doseresult").fetchone()[0] == \
        db.execute("select count(*) from imaging_imagingstudy").fetchone()[0]
    manage("audit_verify")  # exit status 0: the chain written by three processes verifies
