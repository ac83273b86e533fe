"""The coordinator's imaging path in a real browser (Playwright + Debian Chromium): from the patient page's "Upload
images" button, the patient already chosen, through the per-file upload, to the summary per study, the study page and
back to the patient, whose imaging table shows the new exam by its labels."""
import pytest

from conftest import Actors, browser_login
from imaging.models import ImagingStudy
from imaging.tests.helpers import child, pet_files, sample

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_patient_page_to_upload_to_summary_and_back(page, actors: Actors, pipeline_runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    other = child(actors.coordinator_a, actors.hospital_a)
    files = [str(p) for p in pet_files(tmp_path, patient, n=3)] + [str(sample("tcia-prostate-mri.dcm"))]
    browser_login(page, "coordinator_a")
    page.goto(f"/patients/{patient.study_id}/")
    page.get_by_test_id("upload-for-patient").click()
    box = page.get_by_label("Patient")
    assert box.input_value() == patient.study_id  # chosen already
    # The search box asks the server as one types: the other patient's study ID is offered for its last digits.
    box.fill(other.study_id[-3:])
    page.wait_for_function(f"[...document.querySelectorAll('#patient-options option')].some(o => o.value === '{other.study_id}')")
    box.fill(patient.study_id)
    page.get_by_label("DICOM files or zip archives").set_input_files(files)
    # Every file's row, then the summary the script asks for once all are sent.
    summary = page.get_by_test_id("upload-summary")
    summary.get_by_test_id("upload-study").wait_for()
    assert page.locator("#upload-results tr[data-outcome='accepted']").count() == 3
    study = ImagingStudy.objects.get(patient=patient)
    card = summary.locator(f"[data-study='{study.pk}']")
    assert card.get_attribute("data-status") == "ready" and "3 new images accepted" in card.inner_text()
    not_filed = summary.get_by_test_id("upload-not-filed").inner_text()
    assert "tcia-prostate-mri.dcm" in not_filed and "MR" in not_filed
    assert "4 files received" in summary.get_by_test_id("upload-totals").inner_text()
    card.get_by_role("link").click()
    page.wait_for_url(f"**/imaging/studies/{study.pk}/")
    page.get_by_test_id("study-patient").click()
    page.wait_for_url(f"**/patients/{patient.study_id}/")
    table = page.get_by_test_id("imaging-table").inner_text()
    assert "18F-FDG" in table and "F18_FDG" not in table and "PET/CT" in table


def test_trial_visit_is_chosen_by_name_after_typing_the_patient(page, actors: Actors, pipeline_runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from registry.tests.builders import make_registry_consent
    from trials.models import SubjectVisit
    from trials.tests.builders import enrol, make_trial

    trial = make_trial(actors.data_manager, [actors.hospital_a])
    subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    make_registry_consent(actors.coordinator_a, subject.patient)
    visit = SubjectVisit.objects.select_related("definition").get(subject=subject, definition__code="SCR")
    visit.definition.name_en = "Cycle 1 day 8 — MIBG"
    visit.definition.save(update_fields=["name_en"])
    browser_login(page, "coordinator_a")
    page.goto("/imaging/upload/")
    page.get_by_label("Patient").fill(subject.patient.study_id)
    page.get_by_label("Patient").blur()  # the page asks for this patient's visits
    choice = page.get_by_label("Trial visit (optional)")
    choice.locator(f"option[value='{visit.pk}']").wait_for(state="attached")
    assert "Cycle 1 day 8 — MIBG" in choice.locator(f"option[value='{visit.pk}']").inner_text()
    choice.select_option(label=choice.locator(f"option[value='{visit.pk}']").inner_text())
    page.get_by_label("DICOM files or zip archives").set_input_files([str(p) for p in pet_files(tmp_path, subject.patient, n=2)])
    page.get_by_test_id("upload-summary").get_by_test_id("upload-study").wait_for()
    assert ImagingStudy.objects.get(patient=subject.patient).trial_visit == visit
