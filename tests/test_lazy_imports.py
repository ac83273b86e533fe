"""The URL configuration loads without the report and statistics libraries (issue 19: a worker grew from 104 to 246 MB
on its first request because config.urls imported pandas, matplotlib, scipy and lifelines). They load with the first
report, figure or statistical test that needs them. A fresh interpreter, so nothing imported by other tests counts."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "matplotlib", "lifelines", "scipy")

PROBE = """
import json, sys
import django
django.setup()
import config.urls  # noqa: F401
from django.urls import get_resolver
get_resolver().url_patterns  # every app's URL modules resolved
print(json.dumps({"heavy": [m for m in HEAVY_NAMES if m in sys.modules], "modules": len(sys.modules)}))
""".replace("HEAVY_NAMES", repr(HEAVY))


def test_the_urlconf_imports_no_report_library() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.test")}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], result


def test_a_report_still_finds_them_when_it_runs() -> None:
    """The lazy imports are real imports: the cell formatter and the Wilcoxon test work once called."""
    import numpy as np

    from nucmed.agreement import paired_wilcoxon
    from reports.renderers import cell

    assert cell(np.float64(1.23456789)) == 1.2346 and cell(None) is None
    result = paired_wilcoxon([1, 2, 3, 4, 5, 6], [2, 3, 5, 4, 7, 9])
    assert result.p_value is not None and 0 < result.p_value <= 1
