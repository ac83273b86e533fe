"""The PDFs fit the page (issue 17: the sponsor's trial PDF lost the dosing listing's last columns off the page).

Each report kind's PDF is rendered to PNG with pdftoppm (poppler-utils; `make pdf-tools`, run by .ci/run) and every
page's right margin is checked to hold no ink: a table wider than the page would run into it, or be cut at the edge."""
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from conftest import require
from imaging.reading.headline import seed_headline_comparison
from registry.tests.builders import consented_patient, identity
from reports.renderers import PDF_MARGIN_MM
from reports.tests.helpers import AS_OF, file_bytes, generate, make_cohort
from reports.tests.trial_helpers import make_trial_world

pytestmark = pytest.mark.django_db
DPI = 60
A4_LANDSCAPE_MM = (297, 210)


def _pages(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    require(shutil.which("pdftoppm") is not None, "needs pdftoppm (poppler-utils): make pdf-tools")
    (tmp_path / "report.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(tmp_path / "report.pdf"), str(tmp_path / "page")], check=True, timeout=120)
    return [Image.open(p).convert("L") for p in sorted(tmp_path.glob("page-*.png"))]


def _ink_in_right_margin(page: Image.Image) -> list[int]:
    """The rows of the page with a dark pixel in the right margin, above the bottom margin (the page number's place)."""
    px_per_mm = page.width / A4_LANDSCAPE_MM[0]
    left = int(page.width - (PDF_MARGIN_MM - 2) * px_per_mm)  # 2 mm of tolerance for anti-aliasing at the content edge
    bottom = int(page.height - PDF_MARGIN_MM * px_per_mm)
    strip = page.crop((left, 0, page.width, bottom))
    return sorted({y for y in range(strip.height) for x in range(strip.width) if strip.getpixel((x, y)) < 160})


def _check(pdf: bytes, tmp_path: Path) -> int:
    pages = _pages(pdf, tmp_path)
    assert pages, "no page rendered"
    for number, page in enumerate(pages, start=1):
        assert page.width > page.height, f"page {number} is not landscape"
        assert _ink_in_right_margin(page) == [], f"page {number}: something runs into the right margin"
    return len(pages)


def test_the_trial_report_fits_the_page(actors, real_pdf, eager, django_capture_on_commit_callbacks, tmp_path) -> None:
    world = make_trial_world(actors)
    run = generate(actors.sponsor, "trial", {"trial": world.trial.code}, django_capture_on_commit_callbacks)
    assert _check(file_bytes(run, "trial.pdf"), tmp_path) >= 2


def test_the_cohort_report_fits_the_page(actors, real_pdf, eager, django_capture_on_commit_callbacks, tmp_path) -> None:
    make_cohort(actors)
    run = generate(actors.data_manager, "cohort", {"as_of": AS_OF.isoformat()}, django_capture_on_commit_callbacks)
    assert _check(file_bytes(run, "cohort.pdf"), tmp_path) >= 2


def test_the_diagnostic_report_fits_the_page(actors, real_pdf, eager, django_capture_on_commit_callbacks, tmp_path) -> None:
    patients = [consented_patient(actors.coordinator_a, actors.hospital_a, ident=identity()) for _ in range(4)]
    comparison = seed_headline_comparison(actor=actors.data_manager, patients=patients)
    run = generate(actors.data_manager, "diagnostic", {"comparison": comparison.pk}, django_capture_on_commit_callbacks)
    assert _check(file_bytes(run, "diagnostic.pdf"), tmp_path) >= 1


def test_the_margin_check_sees_a_table_wider_than_the_page(tmp_path) -> None:
    """The check itself: a table of 40 wide columns, without the report's wrapping rules, runs off the page."""
    from weasyprint import HTML

    cells = "".join(f"<td>effective_dose_msv_{n}</td>" for n in range(40))
    pdf = HTML(string=f"<style>@page {{ size: A4 landscape; margin: {PDF_MARGIN_MM}mm }}</style><table><tr>{cells}</tr></table>").write_pdf()
    pages = _pages(pdf, tmp_path)
    assert _ink_in_right_margin(pages[0]) != []
