"""Fixtures shared by every app's tests: the standard actors, API clients, and service requirements.

Actors (DESIGN.md): a coordinator and an investigator at hospital A, a coordinator at hospital B, a
monitor of A, a data manager of every hospital, a user with no membership, and an anonymous client.
Three more users hold no hospital membership and get trial roles from the trials app's arrangements
(sponsor, trial monitor, central reader); until a case gives them one they see what `nobody` sees.
"""
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from config.celery_app import app as celery_app
from registry.access import HospitalRole
from registry.models import Hospital, User
from registry.tests.factories import HospitalFactory, MembershipFactory, UserFactory

PASSWORD = "correct-horse-battery"
SERVICE_MARKERS = ("postgres", "redis", "worker")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """Under CI a test that needs a real service must run: its skip is reported as a failure."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and any(item.get_closest_marker(m) for m in SERVICE_MARKERS):
        report.outcome = "failed"
        report.longrepr = f"service test skipped under CI: {report.longrepr}"


def require(condition: bool, why: str) -> None:
    if not condition:
        pytest.skip(why)


@pytest.fixture
def on_postgres() -> None:
    require(connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def on_redis() -> None:
    require(not settings.CELERY_TASK_ALWAYS_EAGER, "needs a broker (set CELERY_BROKER_URL)")


@dataclass
class Actors:
    hospital_a: Hospital
    hospital_b: Hospital
    coordinator_a: User
    investigator_a: User
    coordinator_b: User
    monitor_a: User
    data_manager: User
    nobody: User
    sponsor: User
    trial_monitor: User
    central_reader: User

    def by_name(self, name: str) -> User | None:
        return None if name == "anonymous" else getattr(self, name)


TRIAL_ONLY_ACTORS = ("sponsor", "trial_monitor", "central_reader")
ACTOR_NAMES = ("coordinator_a", "investigator_a", "coordinator_b", "monitor_a", "data_manager", "nobody", *TRIAL_ONLY_ACTORS,
               "anonymous")


@pytest.fixture
def actors(db) -> Actors:  # type: ignore[no-untyped-def]
    a = HospitalFactory(code="AAA", name_en="Hospital A")
    b = HospitalFactory(code="BBB", name_en="Hospital B")

    def member(username: str, role: str, hospital: Hospital | None) -> User:
        user = UserFactory(username=username)
        MembershipFactory(user=user, hospital=hospital, role=role)
        return user

    return Actors(
        hospital_a=a,
        hospital_b=b,
        coordinator_a=member("coordinator_a", HospitalRole.COORDINATOR, a),
        investigator_a=member("investigator_a", HospitalRole.INVESTIGATOR, a),
        coordinator_b=member("coordinator_b", HospitalRole.COORDINATOR, b),
        monitor_a=member("monitor_a", HospitalRole.MONITOR, a),
        data_manager=member("data_manager", HospitalRole.DATA_MANAGER, None),
        nobody=UserFactory(username="nobody"),
        sponsor=UserFactory(username="sponsor"),
        trial_monitor=UserFactory(username="trial_monitor"),
        central_reader=UserFactory(username="central_reader"),
    )


def api_client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def client_for():  # type: ignore[no-untyped-def]
    return api_client


@pytest.fixture
def worker(on_postgres, on_redis, django_db_setup, django_db_blocker) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A real `celery worker` process on its own queue, reading the test database."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        celery_app.conf.task_default_queue = previous
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        print(output)  # shown by pytest when the test fails


@pytest.fixture
def eager() -> Iterator[None]:
    """Run Celery tasks in-process for this test, whatever the broker settings (CI sets a real one)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def reference_rows() -> None:
    """Transactional tests start from a flushed database: put back the rows the data migrations create."""
    from registry.migrations import _reference_rows

    _reference_rows.restore()
