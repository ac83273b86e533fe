"""docker-compose.yml cannot run here (no Docker engine): check it declares what the settings need."""
from pathlib import Path

import yaml
from django.conf import settings

COMPOSE = yaml.safe_load((Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_every_service_is_declared_with_a_healthcheck() -> None:
    assert {"web", "worker", "beat", "db", "redis"} <= set(SERVICES)
    for name, service in SERVICES.items():
        assert "healthcheck" in service, name


def test_app_services_get_every_required_production_variable_and_wait_for_backing_services() -> None:
    for name in ("web", "worker", "beat"):
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
