"""Imaging pages through Django's test client: upload, study page (polling, hold), previews, scoping."""
import pytest
from django.urls import reverse

from conftest import Actors
from imaging.models import DoseResult, ImagingStudy, Series, Upload
from imaging.reading.tests import helpers as h
from imaging.tests.helpers import as_upload, child, sample
from registry.tests.builders import make_patient

PET = "tcia-acrin-flt-breast-pet-1.dcm"
MR = "tcia-prostate-mri.dcm"


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


def test_upload_page_offers_only_the_users_patients(client, actors: Actors, patient) -> None:
    other = child(actors.coordinator_b, actors.hospital_b)
    client.force_login(actors.coordinator_a)
    body = client.get(reverse("web-upload")).content.decode()
    assert patient.study_id in body and other.study_id not in body
    assert 'type="file"' in body and "multiple" in body and 'for="id_patient"' in body


def test_plain_form_upload_lists_each_file_with_its_outcome(client, actors: Actors, patient, eager) -> None:
    client.force_login(actors.coordinator_a)
    response = client.post(reverse("web-upload"), {"patient": patient.pk, "files": [as_upload(sample(PET)), as_upload(sample(MR))]})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-outcome="accepted"' in body and 'data-outcome="rejected"' in body and "MR" in body
    upload = Upload.objects.get()
    assert (upload.accepted, upload.rejected, upload.uploaded_by) == (1, 1, actors.coordinator_a)
    assert upload.source == Upload.Source.WEB == "web"
    study = ImagingStudy.objects.get()
    assert reverse("web-study-detail", args=[study.pk]) in body


def test_xhr_upload_answers_json_per_file(client, actors: Actors, patient, eager) -> None:
    client.force_login(actors.coordinator_a)
    url = reverse("web-upload")
    first = client.post(url, {"patient": patient.pk, "files": [as_upload(sample(PET))]}, HTTP_ACCEPT="application/json")
    again = client.post(url, {"patient": patient.pk, "files": [as_upload(sample(PET))]}, HTTP_ACCEPT="application/json")
    assert first.status_code == 201 and again.status_code == 201
    assert [i["outcome"] for i in first.json()["items"]] == ["accepted"]
    assert [i["outcome"] for i in again.json()["items"]] == ["duplicate"]
    assert first.json()["studies"][0]["url"] == reverse("web-study-detail", args=[ImagingStudy.objects.get().pk])
    assert set(Upload.objects.values_list("source", flat=True)) == {"web"}


def test_refused_upload_shows_the_service_message_and_keeps_the_choice(client, actors: Actors) -> None:
    unconsented = make_patient(actors.coordinator_a, actors.hospital_a)
    client.force_login(actors.coordinator_a)
    response = client.post(reverse("web-upload"), {"patient": unconsented.pk, "trial_visit_id": "7",
                                                   "files": [as_upload(sample(PET))]})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Cannot accept image upload" in body
    assert f'value="{unconsented.study_id}"' in body and '<option value="7" selected>7</option>' in body
    assert not Upload.objects.exists()
    json_answer = client.post(reverse("web-upload"), {"patient": unconsented.pk}, HTTP_ACCEPT="application/json")
    assert json_answer.status_code == 400
    assert json_answer.json()["errors"]["files"] == ["Attach at least one .dcm file or .zip archive."]


def test_patient_of_another_hospital_cannot_be_chosen(client, actors: Actors, patient) -> None:
    client.force_login(actors.coordinator_b)
    response = client.post(reverse("web-upload"), {"patient": patient.pk, "files": [as_upload(sample(PET))]})
    assert response.status_code == 400 and not Upload.objects.exists()


def test_study_page_polls_until_every_series_is_final(client, actors: Actors, patient) -> None:
    study = h.study_of(patient)
    series = study.series.get()
    Series.objects.filter(pk=series.pk).update(pipeline_state=Series.PipelineState.RUNNING,
                                               pipeline_steps={"index": {"state": "done"}, "suv": {"state": "running", "progress": 40}})
    client.force_login(actors.coordinator_a)
    page = client.get(reverse("web-study-detail", args=[study.pk])).content.decode()
    progress_url = reverse("web-study-progress", args=[study.pk])
    assert f'hx-get="{progress_url}"' in page and 'hx-trigger="every 1500ms"' in page
    assert 'data-step="suv" data-state="running"' in page and 'value="40"' in page
    Series.objects.filter(pk=series.pk).update(pipeline_state=Series.PipelineState.DONE,
                                               pipeline_steps={n: {"state": "done"} for n in ("index", "suv", "dose", "preview")})
    DoseResult.objects.create(study=study, tracer="I123_MIBG", administered_activity_mbq=148.0, radiopharmaceutical_msv=2.96,
                              total_msv=2.96, complete=True)
    fragment = client.get(progress_url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment and 'data-final="true"' in fragment and "<html" not in fragment
    assert "Cumulative dose of the child" in fragment and "2.96 mSv" in fragment and "148.0 MBq" in fragment


def test_study_and_previews_of_another_hospital_are_404(client, actors: Actors, patient) -> None:
    study = h.study_of(patient)
    preview = h.preview_of(study.series.get())
    client.force_login(actors.coordinator_b)
    for url in (reverse("web-study-detail", args=[study.pk]), reverse("web-study-progress", args=[study.pk]),
                reverse("web-preview-image", args=[preview.pk])):
        assert client.get(url).status_code == 404
    assert client.post(reverse("web-study-release", args=[study.pk]), {"reason": "x"}).status_code == 404
    client.force_login(actors.coordinator_a)
    image = client.get(reverse("web-preview-image", args=[preview.pk]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_hold_shows_the_differences_and_release_needs_a_reason(client, actors: Actors, patient) -> None:
    study = h.study_of(patient)
    ImagingStudy.objects.filter(pk=study.pk).update(status=ImagingStudy.Status.ON_HOLD,
                                                    hold_reasons=["PatientSex in the images is M; the registry records F."])
    study.series.update(pipeline_state=Series.PipelineState.HELD)
    client.force_login(actors.coordinator_a)
    page = client.get(reverse("web-study-detail", args=[study.pk])).content.decode()
    assert "PatientSex in the images is M" in page and 'data-testid="hold"' in page
    assert "hx-trigger" not in page  # a held series waits for the release, nothing to poll
    url = reverse("web-study-release", args=[study.pk])
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 400 and "This field is required" in refused.content.decode()
    done = client.post(url, {"reason": "Checked with the ward: same child, sex mistyped at the scanner."})
    assert done.status_code == 302
    assert ImagingStudy.objects.get(pk=study.pk).status == ImagingStudy.Status.READY


def test_monitor_sees_the_hold_but_cannot_release(client, actors: Actors, patient) -> None:
    study = h.study_of(patient)
    ImagingStudy.objects.filter(pk=study.pk).update(status=ImagingStudy.Status.ON_HOLD, hold_reasons=["differs"])
    client.force_login(actors.monitor_a)
    page = client.get(reverse("web-study-detail", args=[study.pk])).content.decode()
    assert "differs" in page and reverse("web-study-release", args=[study.pk]) not in page


def test_pages_in_chinese(client, actors: Actors, patient, settings) -> None:
    study = h.study_of(patient)
    client.force_login(actors.investigator_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "上传图像" in client.get(reverse("web-upload")).content.decode()
    assert "序列与处理流程" in client.get(reverse("web-study-detail", args=[study.pk])).content.decode()
    sheet = client.get(reverse("web-score-sheet", args=[study.pk, "curie"])).content.decode()
    assert "软组织" in sheet and "保存草稿" in sheet  # segment labels from nucmed's Chinese labels
