"""The manual: README.md is the front door and docs/ is an MkDocs site that builds with --strict.

The strict build is what catches a page left out of the nav, a link to a page or an anchor that does not exist,
so it runs here as a subprocess (the same command as `make test`), into a temporary site directory.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README_MAX_LINES = 200
# Files outside the repository that docstrings used to cite; the manual in docs/ replaces them
# (docs/clinical.md is in the repository, hence the look-behind).
ABSENT_FILES = {
    "DESIGN.md": re.compile(r"DESIGN\.md"),
    "clinical.md": re.compile(r"(?<!docs/)\bclinical\.md"),
    "shared/": re.compile(r"\.\./shared/|\bshared/(reference|ANCHORS)"),
}


def _nav_pages(entries: object) -> set[str]:
    """Every Markdown path named anywhere in mkdocs.yml's nav (entries are strings, lists or one-key mappings)."""
    if isinstance(entries, str):
        return {entries} if entries.endswith(".md") else set()
    if isinstance(entries, list):
        return set().union(*(_nav_pages(entry) for entry in entries)) if entries else set()
    if isinstance(entries, dict):
        return set().union(*(_nav_pages(value) for value in entries.values())) if entries else set()
    return set()


def _mkdocs_config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def test_strict_build_succeeds(tmp_path: Path) -> None:
    site = tmp_path / "site"
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        # Material prints an end-of-life banner on every build; the variable it names silences it.
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (site / "index.html").is_file()
    assert (site / "physics" / "index.html").is_file()


def test_readme_fits_on_a_few_screens() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; the manual belongs in docs/"


def test_every_page_is_in_the_nav() -> None:
    pages = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    in_nav = _nav_pages(_mkdocs_config()["nav"])
    assert pages - in_nav == set(), "pages missing from mkdocs.yml's nav"
    assert in_nav - pages == set(), "nav entries without a page"


def _python_sources() -> list[Path]:
    own = Path(__file__).resolve()
    apps = ("config", "registry", "trials", "imaging", "reports", "nucmed", "tests", "bench")
    files = [path for top in apps for path in (ROOT / top).rglob("*.py")] + [ROOT / "conftest.py", ROOT / "manage.py"]
    return [path for path in files if path.resolve() != own]


@pytest.mark.parametrize("name", sorted(ABSENT_FILES))
def test_python_sources_cite_no_file_outside_the_repository(name: str) -> None:
    pattern = ABSENT_FILES[name]
    citing = [str(path.relative_to(ROOT)) for path in _python_sources() if pattern.search(path.read_text(encoding="utf-8"))]
    assert citing == [], f"{name} is not in the repository; point at a docs/ page instead"
