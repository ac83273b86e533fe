"""Fixtures shared by every app's tests: the standard actors, API clients, and service requirements.

Actors (docs/testing.md, "The standard actors"): a coordinator and an investigator at hospital A, a coordinator at hospital B, a
monitor of A, a data manager of every hospital, a user with no membership, and an anonymous client.
Three more users hold no hospital membership and get trial roles from the trials app's arrangements
(sponsor, trial monitor, central reader); until a case gives them one they see what `nobody` sees.
"""
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import pytest
from django.conf import settings
from django.db import connection
from django.utils import translation
from rest_framework.test import APIClient

from config.celery_app import app as celery_app
from config.queues import queue_names
from registry.access import HospitalRole
from registry.models import Hospital, User
from registry.tests.factories import HospitalFactory, MembershipFactory, UserFactory

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORD = "correct-horse-battery"
SERVICE_MARKERS = ("postgres", "redis", "worker", "browser", "dicom_tools")
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
    return build_actors()


def build_actors() -> Actors:
    """The standard actors and their two hospitals (the isolation matrix builds them once per world, not per test)."""
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


# Request headers that ask for the Chinese interface and messages.
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture(autouse=True)
def _default_language_afterwards() -> Iterator[None]:
    """A zh-Hans request leaves its language active in the test's thread: every test starts from the default."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _receipt_checks_forgotten() -> Iterator[None]:
    """Deferred uploads reuse a passed check per user and study ID, and a token's user, for a few seconds
    (imaging.services.receipts, registry.api.deferred); a rolled-back test's next test may give the same user and
    study ID to another patient row, and a test that changes a role means the next request to see it."""
    yield
    from imaging.services.receipts import receipts_checks_forget
    from registry.api.deferred import deferred_forget

    receipts_checks_forget()
    deferred_forget()


# Transactional tests leave a flushed database behind them, without the rows the data migrations made (the system actor,
# the audit chain's head, the default follow-up plan). In one process pytest-django runs them after every other
# database test; pytest-xdist hands each worker modules in its own order, so the next test may meet the empty tables.
# The rows are put back right after the flush, in autocommit (a fixture would run inside the next test's transaction,
# which rolls them back again).
_TRANSACTIONAL_FIXTURES = {"transactional_db", "live_server", "django_db_serialized_rollback"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):  # type: ignore[no-untyped-def]
    yield
    transactional = any(m.kwargs.get("transaction") for m in item.iter_markers("django_db"))
    # After the session's last test the test database is already gone (nextitem None: session fixtures torn down).
    if nextitem is None or not (transactional or _TRANSACTIONAL_FIXTURES & set(getattr(item, "fixturenames", ()))):
        return
    from pytest_django.plugin import blocking_manager_key

    from registry.migrations import _reference_rows

    with item.config.stash[blocking_manager_key].unblock():
        _reference_rows.restore()


def refused_in_both_languages(client: APIClient, url: str, body: dict | None = None, *,
                              method: str = "post") -> tuple[dict, dict]:
    """The same refused API request without a language header (English) and in zh-Hans: both 400, with the same code
    and the same fields. Returns both bodies for the messages to be checked."""
    send = getattr(client, method)
    english = send(url, body, format="json")
    chinese = send(url, body, format="json", **ZH)
    assert english.status_code == chinese.status_code == 400, (english.content, chinese.content)
    assert english.json()["code"] == chinese.json()["code"]
    assert english.json()["fields"].keys() == chinese.json()["fields"].keys()
    return english.json(), chinese.json()


def api_client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def client_for():  # type: ignore[no-untyped-def]
    return api_client


def start_worker(*, broker_url: str, queue: str, log: IO[str], extra_env: dict[str, str] | None = None,
                 pool: str = "solo") -> subprocess.Popen[str]:
    """A real `celery worker` process consuming `queue` and the queue of every other kind of work named after it
    (config/queues.py) on `broker_url`, reading the test database, writing to `log`.

    In a session of its own, so that `os.killpg` kills it whole (a prefork pool's children included).
    """
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        **(extra_env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", f"--pool={pool}", "-Q", ",".join(queue_names(queue)),
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def stop_worker(proc: subprocess.Popen[str], grace: float = 20) -> None:
    """A warm shutdown (the task in hand finishes), killed after `grace` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def queued_for_real(broker_url: str | None = None) -> Iterator[str]:
    """Tasks published (not run in-process) to a queue of this test's own, on the configured broker or on `broker_url`.

    With no broker configured that is kombu's in-memory transport (a real broker for one process); under CI, Redis.
    """
    conf = celery_app.conf
    previous = (conf.task_always_eager, conf.task_default_queue, conf.broker_url)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    conf.task_always_eager, conf.task_default_queue = False, queue
    # Celery reads CELERY_BROKER_URL from the environment before its own setting (CI exports it), so both change.
    previous_env = os.environ.get("CELERY_BROKER_URL")
    if broker_url:
        conf.broker_url = broker_url
        os.environ["CELERY_BROKER_URL"] = broker_url
    celery_app._pool, celery_app.amqp._producer_pool = None, None  # connections follow the broker URL set here
    try:
        yield queue
    finally:
        conf.task_always_eager, conf.task_default_queue, conf.broker_url = previous
        if previous_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous_env
        celery_app._pool, celery_app.amqp._producer_pool = None, None


@pytest.fixture
def worker(on_postgres, on_redis, django_db_setup, django_db_blocker, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A real `celery worker` process on its own queue, reading the test database."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        proc = start_worker(broker_url=settings.CELERY_BROKER_URL, queue=queue, log=log)
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        celery_app.conf.task_default_queue = previous
        stop_worker(proc)
        print(log_path.read_text())  # shown by pytest when the test fails


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


@pytest.fixture
def pipeline_runner(request: pytest.FixtureRequest) -> str:
    """Whatever runs Celery tasks for this test: in-process when eager (embedded defaults), else a real worker."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    return request.getfixturevalue("worker")


# --- Browser tests (Playwright driving Debian's Chromium; `make browser` installs it) -------------------
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots"


@pytest.fixture(scope="session")
def chromium() -> Iterator["Browser"]:
    require(os.path.exists(CHROMIUM), f"needs Chromium at {CHROMIUM} (make browser)")
    # Playwright's sync API keeps an event loop in this thread; Django would refuse ORM calls from the test body.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: "Browser", live_server, reference_rows) -> Iterator["Page"]:  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) on the live server, English, in the hospitals' time zone."""
    context = chromium.new_context(base_url=live_server.url, locale="en-US", timezone_id="Asia/Shanghai",
                                   viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def browser_login(page: "Page", username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def screenshot(page: "Page", name: str) -> None:
    """Key pages are kept as test artifacts under var/screenshots/ (ignored by git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
