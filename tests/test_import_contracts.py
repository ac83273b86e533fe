"""The import contracts of pyproject.toml ([tool.importlinter]) hold: no app imports one further up the chain
(reports -> imaging -> trials -> registry -> nucmed), nucmed imports no app, and a parent app reaches its sub-apps
only through the hooks they register. `make test` runs lint-imports too; here it is part of the suite, so a pytest
run alone also fails on an upward import."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# Every package the contracts name, for a synthetic tree that has the project's shape and nothing else.
PACKAGES = ["config", "registry", "nucmed", "reports", "trials", "trials.tests", "trials.safety", "trials.oversight",
            "trials.oversight.tests", "imaging", "imaging.tests", "imaging.reading",
            "imaging.lowdose", "imaging.enhancement"]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first, so a synthetic tree's packages shadow the installed project's.
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "200"}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_import_contracts_are_kept() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("module", "source", "contract"), [
    ("registry/panels.py", "import imaging\n", "Apps are layered"),
    ("trials/web.py", "def lazy():\n    from reports import kinds\n", "Apps are layered"),  # an import inside a function counts
    ("nucmed/maths.py", "import config\n", "nucmed is pure code"),
    ("trials/selectors.py", "from trials.safety import models\n", "trials.safety is reached"),
    ("trials/oversight/views.py", "import trials.safety\n", "trials.safety is reached"),
    ("imaging/web.py", "import imaging.reading\n", "imaging.reading is reached"),
    ("imaging/pipeline.py", "from imaging.lowdose import services\n", "imaging.lowdose is reached"),
    ("imaging/steps.py", "from imaging.enhancement import services\n", "imaging.enhancement is reached"),
])
def test_an_upward_import_breaks_its_contract(tmp_path: Path, module: str, source: str, contract: str) -> None:
    """The project's own contracts, on a synthetic tree of the same packages with one forbidden import added."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    for package in PACKAGES:
        folder = tmp_path.joinpath(*package.split("."))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").touch()
    assert lint_imports(tmp_path).returncode == 0  # the bare tree keeps every contract
    tmp_path.joinpath(module).write_text(source)
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert len(broken) == 1 and broken[0].startswith(contract), result.stdout
