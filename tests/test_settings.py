"""Settings modes, each checked in a fresh interpreter so the environment is exactly what we say."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROD_ENV = {
    "DJANGO_SECRET_KEY": "k" * 20 + "-production-secret-0123456789-abcdefghijklmnop",
    "DATABASE_URL": "postgres://nbnm@db.internal:5432/nbnm",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "DJANGO_ALLOWED_HOSTS": "nbnm.example.org",
    "PATIENT_IDENTITY_KEYS": "Xa0Ej3ptDG3NrkPiEYBlDKg5luBmUjwl2q85S9wFslU=",
    "PATIENT_HASH_KEY": "production-hash-key-0123456789",
    "DICOM_UID_KEY": "production-dicom-uid-key-0123456789",
    "AUDIT_HMAC_KEY": "production-audit-chain-hmac-key-0123456789",
}


def run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # A bare environment: only what a fresh shell has, plus what the test sets.
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "NBNM_VAR_DIR": str(tmp_path / "var")}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True,
                          timeout=120)


def test_embedded_default_boots_with_no_environment(tmp_path: Path) -> None:
    code = (
        "import django; django.setup(); from django.conf import settings as s; from django.core.management import call_command;"
        "call_command('check');"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.MEDIA_ROOT, s.DEBUG)"
    )
    result = run(["-c", code], {"DJANGO_SETTINGS_MODULE": "config.settings.dev"}, tmp_path)
    assert result.returncode == 0, result.stderr
    engine, eager, media, debug = result.stdout.split()[-4:]
    assert engine == "django.db.backends.sqlite3" and eager == "True" and debug == "True"
    assert media == str(tmp_path / "var" / "media")


def test_environment_switches_to_postgres_and_redis(tmp_path: Path) -> None:
    code = "import django; django.setup(); from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)"
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.dev", **{k: PROD_ENV[k] for k in ("DATABASE_URL", "CELERY_BROKER_URL")}}
    result = run(["-c", code], env, tmp_path)
    assert result.stdout.split() == ["django.db.backends.postgresql", "False"], result.stderr


@pytest.mark.parametrize("missing", sorted(PROD_ENV))
def test_production_refuses_to_start_without_a_required_variable(tmp_path: Path, missing: str) -> None:
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production", **PROD_ENV}
    del env[missing]
    result = run(["manage.py", "check"], env, tmp_path)
    assert result.returncode != 0 and missing in result.stderr


def test_production_refuses_a_weak_secret_and_sqlite(tmp_path: Path) -> None:
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production", **PROD_ENV, "DJANGO_SECRET_KEY": "short"}
    assert "at least 50 characters" in run(["manage.py", "check"], env, tmp_path).stderr
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production", **PROD_ENV, "DATABASE_URL": "sqlite:////tmp/x.db"}
    assert "PostgreSQL" in run(["manage.py", "check"], env, tmp_path).stderr
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production", **PROD_ENV, "AUDIT_HMAC_KEY": "short-audit-key"}
    assert "AUDIT_HMAC_KEY must be at least 32 characters" in run(["manage.py", "check"], env, tmp_path).stderr


def test_check_deploy_is_clean_with_the_variables_set(tmp_path: Path) -> None:
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production", **PROD_ENV}
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_api_docs_are_public_in_dev_and_need_a_login_in_production(tmp_path: Path) -> None:
    code = "import django; django.setup(); from django.conf import settings as s; print(s.API_DOCS_PUBLIC, s.TRUSTED_PROXY_COUNT)"
    dev = run(["-c", code], {"DJANGO_SETTINGS_MODULE": "config.settings.dev"}, tmp_path)
    production = run(["-c", code], {"DJANGO_SETTINGS_MODULE": "config.settings.production", **PROD_ENV}, tmp_path)
    assert dev.stdout.split() == ["True", "0"], dev.stderr
    assert production.stdout.split() == ["False", "0"], production.stderr
    behind_two_proxies = run(["-c", code], {"DJANGO_SETTINGS_MODULE": "config.settings.production", **PROD_ENV,
                                            "API_DOCS_PUBLIC": "true", "TRUSTED_PROXY_COUNT": "2"}, tmp_path)
    assert behind_two_proxies.stdout.split() == ["True", "2"], behind_two_proxies.stderr


def test_pydicom_never_logs_a_value_from_a_file(caplog) -> None:  # type: ignore[no-untyped-def]
    """pydicom warns with the offending value ("Invalid value for VR PN: '...'"), which may be an identifier: its logger
    stops below ERROR (imaging/apps.py), whatever the root level."""
    import logging
    import warnings

    from pydicom.valuerep import IS, PersonName

    with caplog.at_level(logging.DEBUG), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        IS("1.0")  # not an integer string: pydicom warns and logs with the value
        PersonName("DOE^" + "J" * 70).encode()
    assert not [r for r in caplog.records if r.name.startswith("pydicom")]
    assert logging.getLogger("pydicom").getEffectiveLevel() == logging.ERROR
