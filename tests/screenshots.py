"""The README's screenshots (`make screenshots`): docs/img/worklist.png, docs/img/score-sheet.png, docs/img/report.png.

Seeds a small demo into a throw-away directory (its own SQLite database and media; nothing under var/ is touched),
serves it with `manage.py runserver` on a free local port, and drives Debian's Chromium with Playwright as the demo
users: the investigator's worklist (the first screen, as they open it), an MIBG score sheet of one of their patients,
and a cohort report's page once built (its Kaplan-Meier curves and tables). Embedded defaults only: no broker (the report
is built in-process), no network. Run from the repository root: `.venv/bin/python tests/screenshots.py [--out DIR]`.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
VIEWPORT = {"width": 1280, "height": 860}
# Small enough to seed in seconds, large enough for a Kaplan-Meier curve per risk group and a worklist with every group.
PATIENTS, SCALE = "600", "0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the demo server stopped (exit {server.returncode})")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise SystemExit(f"the demo server did not answer on port {port} within {seconds:.0f} s")


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def _targets(env: dict[str, str]) -> dict[str, str]:
    """The score sheet to show (an MIBG study the investigator may score) and the demo password, read in this process."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.urls import reverse

    from imaging.reading import selectors
    from imaging.reading.web.views import kinds_for
    from registry.demo.people import DEMO_PASSWORD
    from registry.models import User

    investigator = User.objects.get(username="inv_bjyy")
    study = next(s for s in selectors.scorable_studies(user=investigator).order_by("pk") if "curie" in kinds_for(s.tracer))
    return {"score_sheet": reverse("web-score-sheet", args=[study.pk, "curie"]), "password": DEMO_PASSWORD}


def _login(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _shoot(base_url: str, targets: dict[str, str], out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])

        def session(username: str):  # type: ignore[no-untyped-def]
            context = browser.new_context(base_url=base_url, locale="en-US", timezone_id="Asia/Shanghai", viewport=VIEWPORT,
                                          device_scale_factor=1)
            # Nothing leaves the machine: every request to another host is refused.
            context.route(lambda url: not url.startswith(base_url), lambda route: route.abort())
            page = context.new_page()
            page.set_default_timeout(120_000)
            _login(page, username, targets["password"])
            return context, page

        context, page = session("inv_bjyy")
        page.goto("/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(out / "worklist.png"))  # the first screen, as the investigator opens it
        page.goto(targets["score_sheet"])
        page.wait_for_load_state("networkidle")
        # Tall enough for the image viewer above and the segments' scores with the body diagram below it.
        page.screenshot(path=str(out / "score-sheet.png"), full_page=True, clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": 1700})
        context.close()

        context, page = session("datamanager")
        page.goto("/reports/new/cohort/")  # as of today, every hospital
        page.get_by_test_id("run-report").click()
        page.wait_for_url("**/reports/runs/*/")
        page.get_by_test_id("tables").wait_for()  # built (in-process without a broker, else polled until done)
        page.wait_for_load_state("networkidle")
        # The run's heading and its first figures (the page goes on with the downloads and the tables).
        page.screenshot(path=str(out / "report.png"), full_page=True, clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": 1300})
        context.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs Chromium at {CHROMIUM} (make browser)")
    args.out.mkdir(parents=True, exist_ok=True)
    var = Path(tempfile.mkdtemp(prefix="nbnm-screenshots-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(NBNM_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="config.settings.dev", DJANGO_ALLOW_ASYNC_UNSAFE="true")
    server = None
    try:
        started = time.monotonic()
        _manage(env, "migrate", "--noinput")
        _manage(env, "seed_demo", "--patients", PATIENTS, "--scale", SCALE)
        print(f"demo seeded in {time.monotonic() - started:.0f} s ({var})")
        port = _free_port()
        server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(port, server)
        _shoot(f"http://127.0.0.1:{port}", _targets(env), args.out)
        for name in ("worklist.png", "score-sheet.png", "report.png"):
            print(f"{args.out / name}: {(args.out / name).stat().st_size} bytes")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
