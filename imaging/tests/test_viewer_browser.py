"""The diagnostic viewer (imaging/viewer/, docs/imaging/viewer.md) in Debian's Chromium against the live server.

Real pieces throughout: synthetic PET/CT slices ingested through the pipeline (which stores the SUV factor), the
platform's /dicomweb serving metadata and decoded frames, the committed bundle, Cornerstone3D rendering on the page.
Expected values are read back from the stored files with pydicom and numpy, independently of the viewer's code.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from conftest import Actors, browser_login, screenshot
from imaging import synthetic
from imaging.models import ImagingStudy, Instance, Series, SuvResult, VoiMeasurement
from imaging.reading.services.sessions import ItemInput, reading_session_create
from imaging.reading.tests import helpers as rh
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done
from imaging.tests.helpers import child, like
from imaging.volume import read_dataset
from registry.tests.factories import HospitalFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager")]


@pytest.fixture(autouse=True)
def quiet_viewer(page):  # type: ignore[no-untyped-def]
    """After each test: wait until the viewer has no request in flight, then leave the page, so the live server is
    idle when the test database is flushed (a frame request still running would hold SQLite's table lock)."""
    yield
    try:
        page.evaluate("() => window.nbViewer ? window.nbViewer.idle() : null")
    finally:
        page.goto("about:blank")


@dataclass
class StoredSlice:
    sop: str
    raw: np.ndarray
    slope: float
    intercept: float


def stored_stack(series: Series) -> list[StoredSlice]:
    """The stored (de-identified) slices of a series in the viewer's order: descending position along the slice
    normal (row cosines x column cosines), then instance number."""
    out = []
    for inst in Instance.objects.filter(series=series):
        with default_storage.open(inst.storage_key, "rb") as fh:
            ds = pydicom.dcmread(fh)
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
        key = float(np.dot(np.array([float(v) for v in ds.ImagePositionPatient]), np.cross(iop[:3], iop[3:])))
        out.append((-key, int(ds.InstanceNumber), StoredSlice(str(ds.SOPInstanceUID), ds.pixel_array,
                                                             float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0)))))
    return [s for _k, _n, s in sorted(out, key=lambda t: (t[0], t[1]))]


def pet_ct(actors: Actors, folder: Path, capture, *, n_slices: int = 24, size: int = 64, seed: int = 7,  # type: ignore[no-untyped-def]
           with_ct: bool = True) -> ImagingStudy:
    patient = child(actors.coordinator_a, actors.hospital_a)
    pet, ct = synthetic.pet_ct_study(tracer="F18_FDG", patient=like(patient), seed=seed, n_slices=n_slices, rows=size,
                                     cols=size, ct_rows=size, ct_cols=size)
    study = ingest_datasets(actors.coordinator_a, patient, pet + (ct if with_ct else []), folder, capture)
    pipeline_done(study)
    return study


def open_viewer(page, study: ImagingStudy) -> None:  # type: ignore[no-untyped-def]
    page.goto(reverse("web-study-detail", args=[study.pk]))
    page.wait_for_function("() => window.nbViewer !== undefined")
    page.evaluate("() => window.nbViewer.ready")


def canvas_digest(page) -> str:  # type: ignore[no-untyped-def]
    """A hash of the first viewport's displayed pixels (the 2D canvas Cornerstone draws into)."""
    data = page.evaluate("""() => { const c = document.querySelector('#nb-viewer canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = '';
        for (let i = 0; i < d.length; i += 4) s += String.fromCharCode(d[i]); return s; }""")
    return hashlib.sha256(data.encode("latin-1")).hexdigest()


def overlay(page) -> str:  # type: ignore[no-untyped-def]
    return page.get_by_test_id("viewer-overlay-stack").inner_text()


def wait_changed(page, before: str, what=overlay) -> str:  # type: ignore[no-untyped-def]
    for _ in range(50):
        now = what(page)
        if now != before:
            return now
        page.wait_for_timeout(100)
    raise AssertionError(f"unchanged: {before}")


@pytest.fixture
def study(actors: Actors, tmp_path: Path, django_capture_on_commit_callbacks) -> ImagingStudy:  # type: ignore[no-untyped-def]
    return pet_ct(actors, tmp_path / "petct", django_capture_on_commit_callbacks)


def test_study_page_viewer_shows_the_study_and_the_probe_gives_the_stored_suv(page, study: ImagingStudy) -> None:  # type: ignore[no-untyped-def]
    pet = study.series.get(modality="PT")
    factor = SuvResult.objects.get(series=pet).suv_bw_factor
    assert factor
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    browser_login(page, "investigator_a")
    open_viewer(page, study)
    config = page.evaluate("() => JSON.parse(document.getElementById('viewer-config').textContent)")
    assert config["studyInstanceUID"] == study.study_uid
    assert {s["seriesInstanceUID"] for s in config["series"]} == set(study.series.values_list("series_uid", flat=True))
    # the first series is shown, from the middle of its stack, with pixels that are not uniform
    first = Series.objects.get(series_uid=config["series"][0]["seriesInstanceUID"])
    assert page.locator(f'[data-series="{first.series_uid}"]').get_attribute("aria-pressed") == "true"
    assert overlay(page).startswith(f"Slice {first.instances.count() // 2 + 1}/{first.instances.count()}")
    assert page.evaluate("() => window.nbViewer.nonBlank()") is True

    # SUV probe at a known voxel: the hottest pixel of slice 5 of the stored PET, and a background pixel
    stack = stored_stack(pet)
    k = 5
    row, col = np.unravel_index(int(np.argmax(stack[k].raw)), stack[k].raw.shape)
    for r, c in ((int(row), int(col)), (2, 3)):
        got = page.evaluate("([s, c, r, k]) => window.nbViewer.probe(s, c, r, k)", [pet.series_uid, c, r, k])
        raw = int(stack[k].raw[r, c])
        rescaled = raw * stack[k].slope + stack[k].intercept
        assert got["raw"] == raw
        assert got["rescaled"] == pytest.approx(rescaled, rel=1e-12)
        assert got["suv"] == pytest.approx(factor * rescaled, rel=1e-12)
    assert got["suv"] is not None and factor * (int(stack[k].raw[row, col]) * stack[k].slope + stack[k].intercept) > 1

    # the PET in the viewer: the hover probe shows raw, rescaled and SUV
    page.locator(f'[data-series="{pet.series_uid}"]').click()
    page.wait_for_function("() => document.querySelector('[data-testid=viewer-overlay-stack]')?.textContent.includes('SUV')")
    box = page.locator(".nbv-viewport").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => document.querySelector('[data-testid=viewer-probe]').textContent.includes('SUV')")
    assert "Raw" in page.get_by_test_id("viewer-probe").inner_text()
    # the CT has no SUV: its probe says why
    ct = study.series.get(modality="CT")
    assert next(s for s in config["series"] if s["modality"] == "CT")["suvReason"]
    got = page.evaluate("([s]) => window.nbViewer.probe(s, 1, 1, 0)", [ct.series_uid])
    assert got["suv"] is None
    screenshot(page, "imaging-viewer-study")
    assert not errors, errors


def test_window_level_presets_drag_and_scrolling_change_the_picture(page, study: ImagingStudy) -> None:  # type: ignore[no-untyped-def]
    pet = study.series.get(modality="PT")
    browser_login(page, "investigator_a")
    open_viewer(page, study)
    page.locator(f'[data-series="{pet.series_uid}"]').click()
    page.wait_for_function("() => document.querySelector('[data-testid=viewer-overlay-stack]')?.textContent.includes('SUV 0.00–5.00')")
    n = pet.instances.count()
    picture, text = canvas_digest(page), overlay(page)

    page.get_by_test_id("viewer-preset").select_option("suv10")  # preset
    text = wait_changed(page, text)
    assert "SUV 0.00–10.00" in text
    picture = wait_changed(page, picture, canvas_digest)

    box = page.locator(".nbv-viewport").bounding_box()  # window/level drag (the default tool)
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 160, box["y"] + 140, steps=8)
    page.mouse.up()
    text = wait_changed(page, text)
    picture = wait_changed(page, picture, canvas_digest)

    page.locator(".nbv-viewport").focus()  # keys
    page.keyboard.press("ArrowDown")
    text = wait_changed(page, text)
    assert text.startswith(f"Slice {n // 2 + 2}/{n}")
    picture = wait_changed(page, picture, canvas_digest)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # wheel
    page.mouse.wheel(0, 120)
    text = wait_changed(page, text)
    assert not text.startswith(f"Slice {n // 2 + 2}/")
    page.get_by_test_id("viewer-slider").evaluate("(s) => { s.value = '0'; s.dispatchEvent(new Event('input')); }")  # slider
    text = wait_changed(page, text)
    assert text.startswith(f"Slice 1/{n}")
    wait_changed(page, picture, canvas_digest)
    page.get_by_test_id("viewer-reset").click()
    page.wait_for_function("() => document.querySelector('[data-testid=viewer-overlay-stack]').textContent.includes('SUV 0.00–5.00')")


def test_ellipse_roi_gives_suv_statistics(page, study: ImagingStudy) -> None:  # type: ignore[no-untyped-def]
    pet = study.series.get(modality="PT")
    factor = SuvResult.objects.get(series=pet).suv_bw_factor
    browser_login(page, "investigator_a")
    open_viewer(page, study)
    page.locator(f'[data-series="{pet.series_uid}"]').click()
    page.wait_for_function("() => document.querySelector('[data-testid=viewer-overlay-stack]')?.textContent.includes('SUV')")
    page.get_by_role("button", name="Ellipse ROI").click()
    box = page.locator(".nbv-viewport").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 60, cy - 60)
    page.mouse.down()
    page.mouse.move(cx + 60, cy + 60, steps=10)
    page.mouse.up()
    item = page.get_by_test_id("viewer-measurement").first
    item.wait_for()
    values = page.evaluate("() => JSON.parse(document.querySelector('[data-testid=viewer-measurement]').dataset.values)")
    assert values["pixels"] > 10 and values["area_mm2"] > 0
    assert values["suv_max"] == pytest.approx(factor * values["max"], rel=1e-6)
    assert values["suv_mean"] == pytest.approx(factor * values["mean"], rel=1e-6)
    assert 0 < values["suv_mean"] <= values["suv_peak"] * 1.5 and values["suv_peak"] <= values["suv_max"] + 1e-9
    assert "SUVpeak" in item.inner_text()
    screenshot(page, "imaging-viewer-roi")

    # saved as a VOI record through the measurements endpoint; the server's message is shown beside it
    item.get_by_label("Label").fill("liver reference")
    item.get_by_label("Save to").select_option("voi")
    item.get_by_test_id("viewer-save").click()
    message = page.get_by_test_id("viewer-save-message").first
    page.wait_for_function("() => document.querySelector('[data-testid=viewer-save-message]').textContent !== ''")
    row = VoiMeasurement.objects.get()
    assert (row.series, row.shape, row.label, row.created_by.username) == (pet, "roi", "liver reference", "investigator_a")
    assert row.suv_max == pytest.approx(values["suv_max"]) and "nbv-error" not in (message.get_attribute("class") or "")
    assert message.inner_text()


def test_mip_reformats_and_pet_ct_fusion_render(page, study: ImagingStudy) -> None:  # type: ignore[no-untyped-def]
    pet = study.series.get(modality="PT")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    browser_login(page, "investigator_a")
    open_viewer(page, study)
    page.locator(f'[data-series="{pet.series_uid}"]').click()
    page.wait_for_function("() => document.querySelector('[data-testid=viewer-overlay-stack]')?.textContent.includes('SUV')")
    modes = page.get_by_test_id("viewer-mode")
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=viewer-mode] option')].some(o => o.value === 'fusion')")
    for mode, count in (("mip", 1), ("mpr", 3), ("fusion", 3)):
        modes.select_option(mode)
        page.wait_for_function(f"() => document.querySelectorAll('.nbv-viewport').length === {count} && window.nbViewer.nonBlank()"
                               " && !document.querySelector('[data-testid=viewer-status]').textContent")
        screenshot(page, f"imaging-viewer-{mode}")
    slider = page.get_by_test_id("viewer-opacity")
    assert slider.is_visible()
    before = canvas_digest(page)
    slider.evaluate("(s) => { s.value = '1'; s.dispatchEvent(new Event('input')); }")
    wait_changed(page, before, canvas_digest)
    assert not errors, errors


def test_a_300_slice_pet_opens_to_its_first_image(page, actors: Actors, tmp_path: Path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """The performance figure of docs/imaging/viewer.md: reported, not asserted (besides opening at all)."""
    study = pet_ct(actors, tmp_path / "big", django_capture_on_commit_callbacks, n_slices=300, size=128, seed=11, with_ct=False)
    browser_login(page, "investigator_a")
    started = time.perf_counter()
    open_viewer(page, study)
    wall = (time.perf_counter() - started) * 1000
    first = page.evaluate("() => window.nbViewer.firstImageMs")
    assert page.evaluate("() => window.nbViewer.nonBlank()") is True
    assert overlay(page).startswith("Slice 151/300")
    timings = page.evaluate("""() => performance.getEntriesByType('resource').filter(e => /viewer\\.js|metadata|frames/.test(e.name))
        .slice(0, 4).map(e => [e.name.split('/').slice(-2).join('/'), Math.round(e.startTime), Math.round(e.responseEnd)])""")
    print(f"\nviewer: 300-slice PET (128x128) first image {first:.0f} ms after navigation start; goto to ready {wall:.0f} ms;"
          f" resources [name, start, end] ms: {timings}")


def test_score_sheet_of_an_mibg_spect_ct_shows_the_viewer_beside_the_diagram(page, actors: Actors, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                           django_capture_on_commit_callbacks) -> None:
    patient = child(actors.coordinator_a, actors.hospital_a)
    nm, ct = synthetic.spect_ct_study(patient=like(patient), seed=21, n_slices=24, rows=64, cols=64, ct_rows=64, ct_cols=64)
    study = ingest_datasets(actors.coordinator_a, patient, nm + ct, tmp_path / "mibg", django_capture_on_commit_callbacks)
    pipeline_done(study)
    browser_login(page, "investigator_a")
    page.goto(reverse("web-score-sheet", args=[study.pk, "curie"]))
    page.wait_for_function("() => window.nbViewer !== undefined")
    page.evaluate("() => window.nbViewer.ready")
    assert page.evaluate("() => window.nbViewer.nonBlank()") is True
    config = page.evaluate("() => JSON.parse(document.getElementById('viewer-config').textContent)")
    assert config["studyInstanceUID"] == study.study_uid
    assert page.locator("#body-diagram").is_visible() and page.locator("#seg_head").is_visible()
    spect = study.series.get(modality="NM")
    entry = next(s for s in config["series"] if s["seriesInstanceUID"] == spect.series_uid)
    assert entry["suv"] is None and entry["suvReason"]
    # the NM pixels the viewer reads are the stored ones; a multi-frame SPECT's frames are placed along the slice
    # normal by SpacingBetweenSlices, and the stack runs from the highest position down (the last frame first)
    instances = list(Instance.objects.filter(series=spect))
    ds = read_dataset(instances[0])
    frames = ds.pixel_array.reshape(-1, int(ds.Rows), int(ds.Columns))
    if len(instances) == 1 and len(frames) > 1:
        spacing = float(ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1)
        expected = int((frames[-1] if spacing > 0 else frames[0])[20, 10])
    else:
        expected = int(stored_stack(spect)[0].raw[20, 10])
    got = page.evaluate("([s]) => window.nbViewer.probe(s, 10, 20, 0)", [spect.series_uid])
    assert got["raw"] == expected and got["suv"] is None
    screenshot(page, "imaging-viewer-score-sheet")


HIDDEN = ("SeriesDescription", "StudyDescription", "ProtocolName", "StudyDate", "SeriesDate", "AcquisitionDate",
          "StudyTime", "SeriesTime", "AcquisitionTime")
ACTIVITY = ("RadionuclideTotalDose", "RadiopharmaceuticalStartDateTime", "RadiopharmaceuticalStartTime", "Radiopharmaceutical")


def hidden_values(study: ImagingStudy) -> set[str]:
    """What a blinded session hides, as strings: descriptions, protocol, dates and times, the activity, the arms."""
    # Arm labels no page of the platform says by itself (the menu names "Low-dose evaluation" to every member).
    found: set[str] = {"arm-one-sixth-activity", "arm-full-activity", "Secret session name"}
    for inst in Instance.objects.filter(series__study=study):
        ds = read_dataset(inst, pixels=False)
        for keyword in HIDDEN:
            if ds.get(keyword):
                found.add(str(ds.get(keyword)).strip())
        for item in ds.get("RadiopharmaceuticalInformationSequence", []):
            found.update(str(item.get(k)).strip() for k in ACTIVITY if item.get(k))
    for series in study.series.all():
        if series.description:
            found.add(series.description)
    for suv in SuvResult.objects.filter(series__study=study, suv_bw_factor__isnull=False):
        found |= {repr(suv.suv_bw_factor), f"{suv.suv_bw_factor:.6g}"}
    return {v for v in found if len(v) >= 4}


def test_blinded_case_viewer_shows_the_case_and_nothing_hidden_reaches_the_browser(page, actors: Actors, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                                  django_capture_on_commit_callbacks) -> None:
    patient = rh.patient_at(actors.coordinator_b, actors.hospital_b)
    who = like(patient)
    ctx = synthetic.study_context(patient=who, seed=61)
    pair = [synthetic.pet_series(tracer="F18_FDG", patient=who, seed=61, study=ctx, low_dose=low, n_slices=12, rows=32,
                                 cols=32, series_number=number) for low, number in ((True, 3), (False, 5))]
    study = ingest_datasets(actors.coordinator_b, patient, [*pair[0], *pair[1]], tmp_path / "blind", django_capture_on_commit_callbacks)
    items = [ItemInput(study.series.get(series_number=ds[0].SeriesNumber), arm)
             for arm, ds in zip(("arm-one-sixth-activity", "arm-full-activity"), pair, strict=True)]
    session = reading_session_create(actor=actors.data_manager, name="Secret session name", instructions="Score each case.",
                                     items=items, readers=[actors.investigator_a, rh.investigator(HospitalFactory(code="CCC"), "reader2")],
                                     seed=5)
    assignment = session.assignments.get(reader=actors.investigator_a)
    case = assignment.cases.select_related("item__series").order_by("position").first()
    hidden = hidden_values(study)
    assert len(hidden) > 10  # there is something to find

    browser_login(page, "investigator_a")
    responses = []
    page.on("response", lambda r: responses.append(r))
    page.goto(reverse("web-reading-case", args=[assignment.pk, case.position]))
    page.wait_for_function("() => window.nbViewer !== undefined")
    page.evaluate("() => window.nbViewer.ready")
    assert page.evaluate("() => window.nbViewer.nonBlank()") is True
    config = page.evaluate("() => JSON.parse(document.getElementById('viewer-config').textContent)")
    assert config["blinded"] is True and config["series"][0]["label"] == "Series 1"
    # the right images: the probe's SUV at the hottest voxel of the middle slice equals the stored factor x value
    # of the case's own series (the case root folds the factor into the slope, so the rescaled value is the SUV)
    stack = stored_stack(case.item.series)
    factor = SuvResult.objects.get(series=case.item.series).suv_bw_factor
    k = len(stack) // 2
    row, col = np.unravel_index(int(np.argmax(stack[k].raw)), stack[k].raw.shape)
    got = page.evaluate("([s, c, r, k]) => window.nbViewer.probe(s, c, r, k)",
                        [config["series"][0]["seriesInstanceUID"], int(col), int(row), k])
    assert got["suv"] == pytest.approx(factor * (int(stack[k].raw[row, col]) * stack[k].slope + stack[k].intercept), rel=1e-6)
    page.wait_for_timeout(1000)  # let the prefetch finish: every frame the viewer asked for is in `responses`
    bodies = {}
    for response in responses:
        if response.request.resource_type in ("document", "fetch", "xhr"):
            bodies[response.url] = response.body().decode("latin-1").lower()
    assert any("/frames/" in url for url in bodies) and any(url.endswith("/metadata") for url in bodies)
    leaks = [(url, word) for url, body in bodies.items() for word in hidden if word.lower() in body]
    assert leaks == []


def test_the_viewer_speaks_the_page_language(page, study: ImagingStudy) -> None:  # type: ignore[no-untyped-def]
    browser_login(page, "investigator_a")
    page.get_by_test_id("language-switch").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    open_viewer(page, study)
    config = page.evaluate("() => JSON.parse(document.getElementById('viewer-config').textContent)")
    assert config["lang"] == "zh-hans"
    assert page.get_by_role("button", name="窗宽/窗位").is_visible() and page.get_by_role("button", name="复位").is_visible()
    assert overlay(page).startswith("层面 ")
    screenshot(page, "imaging-viewer-zh-hans")
    page.evaluate("() => window.nbViewer.idle()")
    page.get_by_test_id("language-switch").click()  # back to English, which the next tests expect
    page.wait_for_load_state()
