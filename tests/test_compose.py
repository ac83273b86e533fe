"""docker-compose.yml cannot run here (no Docker engine): check it declares what the settings need."""
from pathlib import Path

import yaml
from django.conf import settings

from config.queues import ANALYSIS, BEAT, INGEST, REPORTS, queue_name, queue_names

COMPOSE = yaml.safe_load((Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# The Celery worker services and the queue each consumes (config/queues.py).
WORKERS = {"worker": queue_name(INGEST, "nbnm"), "analysis": queue_name(ANALYSIS, "nbnm"), "reports": queue_name(REPORTS, "nbnm"),
           "sweeps": queue_name(BEAT, "nbnm")}


def test_every_service_is_declared_with_a_healthcheck() -> None:
    assert {"web", "worker", "analysis", "reports", "sweeps", "beat", "db", "redis"} <= set(SERVICES)
    for name, service in SERVICES.items():
        assert "healthcheck" in service, name


def test_app_services_get_every_required_production_variable_and_wait_for_backing_services() -> None:
    for name in ("web", *WORKERS, "beat"):
        env = SERVICES[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert set(settings.PRODUCTION_REQUIRED_ENV) <= set(env), name
        assert "@db:5432/" in env["DATABASE_URL"] and env["CELERY_BROKER_URL"].startswith("redis://redis:")
        assert SERVICES[name]["depends_on"]["db"]["condition"] == "service_healthy"
        # The audit checkpoints outlive the containers and are the same file for the worker (writes) and web (verifies).
        assert env["AUDIT_CHECKPOINT_PATH"].startswith("/data/audit/") and "audit:/data/audit" in SERVICES[name]["volumes"]


def test_commands_and_volumes() -> None:
    assert "gunicorn config.wsgi:application" in SERVICES["web"]["command"]
    assert SERVICES["worker"]["command"].startswith("celery -A config.celery_app worker")
    assert SERVICES["beat"]["command"].startswith("celery -A config.celery_app beat")
    assert SERVICES["dicom"]["command"].startswith("python manage.py dicom_listener") and "dicom:/data/dicom" in SERVICES["web"]["volumes"]
    assert {"pgdata", "redisdata", "media", "audit"} <= set(COMPOSE["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["db"]["volumes"]


def test_one_worker_per_queue_and_the_analysis_workers_scale_alone() -> None:
    """Every queue has exactly one worker service consuming it and nothing else; `--scale analysis=N` works because the
    analysis service publishes no port, names no container and gives each replica its own Celery node name."""
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "nbnm" and sorted(WORKERS.values()) == sorted(queue_names("nbnm"))
    for name, queue in WORKERS.items():
        command = SERVICES[name]["command"].split()
        assert command[:4] == ["celery", "-A", "config.celery_app", "worker"], name
        assert command[command.index("-Q") + 1] == queue, name
        node = command[command.index("--hostname") + 1]
        assert node.endswith("@%h") and node.split("@")[0] in SERVICES[name]["healthcheck"]["test"][1], name
    analysis = SERVICES["analysis"]
    assert "ports" not in analysis and "container_name" not in analysis and "deploy" not in analysis
    # The scheduler is one process and runs nothing itself: its tasks go to the sweeps worker's queue.
    assert "-Q" not in SERVICES["beat"]["command"] and "--scale" not in SERVICES["beat"]["command"]


def test_object_storage_variables_reach_every_app_service() -> None:
    for name in ("web", *WORKERS, "beat", "dicom"):
        env = SERVICES[name]["environment"]
        assert {"STORAGE_BACKEND", "S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY",
                "S3_ADDRESSING_STYLE"} <= set(env), name
        assert env["STORAGE_BACKEND"] == "${STORAGE_BACKEND:-filesystem}"
