"""Imaging pages in a real browser: upload the real PET sample and watch the pipeline; score an MIBG study."""
import pytest

from conftest import Actors, browser_login, screenshot
from imaging.models import ImagingStudy
from imaging.reading import rules
from imaging.reading.models import ScoreSheet
from imaging.reading.tests import helpers as h
from imaging.reading.web import body_diagram
from imaging.tests.helpers import child, sample

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_uploads_the_real_pet_sample_and_watches_the_pipeline(page, actors: Actors, pipeline_runner) -> None:  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    browser_login(page, "coordinator_a")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Upload").click()
    page.get_by_label("Patient").fill(patient.study_id)  # the search box (a study ID), since the coordinator-path change
    page.get_by_label("DICOM files or zip archives").set_input_files(
        [str(sample("tcia-acrin-flt-breast-pet-1.dcm")), str(sample("tcia-prostate-mri.dcm"))])
    results = page.get_by_test_id("upload-results")
    results.locator("tr[data-outcome='accepted']").wait_for()
    results.locator("tr[data-outcome='rejected']").wait_for()
    assert "MR" in results.locator("tr[data-outcome='rejected']").inner_text()
    screenshot(page, "imaging-upload")

    page.get_by_test_id("upload-studies").get_by_role("link").first.click()
    # The sample is an adult's scan, so the wrong-patient guard holds it for a child: the differences are shown, and
    # the coordinator releases it with a reason (what a site does after checking), which starts the pipeline.
    hold = page.get_by_test_id("hold")
    assert "PatientAge" in hold.inner_text() or "date of birth" in hold.inner_text()
    assert page.get_by_test_id("series").first.get_attribute("data-state") == "held"
    page.get_by_label("Reason for release").fill("Test upload of the shared PET sample; checked by the coordinator.")
    page.get_by_role("button", name="Release the study").click()
    # htmx polls the pipeline; the polled block says when every series is final and stops.
    page.locator("#study-live[data-final='true']").wait_for(timeout=60_000)
    series = page.get_by_test_id("series").first
    assert series.get_attribute("data-state") == "done"
    assert series.locator("tr[data-step='preview'][data-state='done']").count() == 1
    assert page.get_by_test_id("dose").is_visible()
    assert ImagingStudy.objects.get().patient == patient
    screenshot(page, "imaging-study")


def test_investigator_scores_an_mibg_study_and_sees_the_saved_total(page, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    study = h.study_of(child(actors.coordinator_a, actors.hospital_a))
    browser_login(page, "investigator_a")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reading").click()
    page.get_by_test_id("studies-to-score").get_by_role("link", name="Curie (123I-MIBG)").click()
    scores = dict(zip(rules.segment_codes("curie"), [2, 1, 0, 0, 1, 0, 0, 0, 0, 3], strict=True))
    head = page.locator('#body-diagram g.region[data-segment="head"]')
    assert head.get_attribute("data-score") == "" and head.get_attribute("fill") == body_diagram.UNSCORED_FILL
    for n, (code, score) in enumerate(scores.items()):
        page.locator(f"#seg_{code}").select_option(str(score))
        if n == 1:
            assert page.locator("#live-total").inner_text() == "3"  # live, before anything is saved
    # The body diagram follows the table: the head region took the colour of the score chosen for it.
    assert head.get_attribute("data-score") == "2" and head.get_attribute("fill") == body_diagram.palette(3)["2"]
    assert head.locator("title").text_content() == "Head: 2"
    assert page.locator('#body-diagram g.region[data-segment="soft_tissue"]').get_attribute("data-score") == "3"
    assert page.locator("#live-total").inner_text() == "7"
    page.get_by_label("Time point").select_option("post_induction")
    assert page.locator("#live-flag").is_visible()  # 7 > 2 after induction
    screenshot(page, "imaging-score-sheet")
    page.get_by_role("button", name="Submit").click()
    assert page.get_by_test_id("saved-total").inner_text() == "7"
    sheet = ScoreSheet.objects.get(study=study)
    assert (sheet.status, sheet.total, sheet.flag) == ("submitted", 7, True)
