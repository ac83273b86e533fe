"""The imaging study's trial visit: a foreign key checked at ingest (the patient's own visit, inside the uploader's scope).

A refused visit is a 400 naming `trial_visit_id` on the API and on the upload page, and leaves nothing behind:
no Upload row, no study, no file in storage.
"""
from pathlib import Path

import pytest
from django.urls import reverse

from conftest import Actors, api_client
from imaging.models import ImagingStudy, Instance, Upload
from imaging.tests.helpers import as_upload, sample
from registry.models import AuditEvent, Patient
from registry.tests.builders import make_registry_consent
from trials.models import SubjectVisit, Trial
from trials.tests.builders import enrol, make_trial

URL = "/api/v1/imaging/uploads/"
PET = "tcia-acrin-flt-breast-pet-1.dcm"


def _visit_of(actor, trial: Trial, hospital) -> SubjectVisit:  # type: ignore[no-untyped-def]
    subject = enrol(actor, trial, hospital)
    make_registry_consent(actor, subject.patient)  # image upload needs the registry consent
    return SubjectVisit.objects.get(subject=subject, definition__code="SCR")


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    # A storage of this test's own, so "nothing was stored" is a fact about this upload alone.
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def trial(actors: Actors) -> Trial:
    return make_trial(actors.data_manager, [actors.hospital_a, actors.hospital_b])


@pytest.fixture
def visit(actors: Actors, trial: Trial) -> SubjectVisit:
    return _visit_of(actors.coordinator_a, trial, actors.hospital_a)


def _stored(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def _post(actors: Actors, patient: Patient, trial_visit_id: object):  # type: ignore[no-untyped-def]
    return api_client(actors.coordinator_a).post(
        URL, {"patient": patient.study_id, "trial_visit_id": trial_visit_id, "files": [as_upload(sample(PET))]}, format="multipart")


def _assert_nothing_written(media: Path) -> None:
    assert not Upload.objects.exists() and not ImagingStudy.objects.exists() and not Instance.objects.exists()
    assert not AuditEvent.objects.filter(action="ingest").exists()
    assert _stored(media) == []


def test_upload_links_the_study_to_the_patients_visit(actors: Actors, visit: SubjectVisit, media: Path) -> None:
    response = _post(actors, visit.subject.patient, visit.pk)
    assert response.status_code == 201, response.content
    assert response.json()["trial_visit_id"] == visit.pk
    assert Upload.objects.get().trial_visit == visit
    assert ImagingStudy.objects.get().trial_visit == visit and list(visit.imaging_studies.all()) == [ImagingStudy.objects.get()]
    assert AuditEvent.objects.get(action="ingest").after["trial_visit"] == visit.pk
    assert _stored(media)


def test_a_visit_id_that_is_not_a_number_is_400_naming_the_field(actors: Actors, visit: SubjectVisit, media: Path) -> None:
    response = _post(actors, visit.subject.patient, "abc")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and list(response.json()["fields"]) == ["trial_visit_id"]
    _assert_nothing_written(media)


@pytest.mark.parametrize("whose", ["another_patient", "another_hospital", "no_such_visit"])
def test_a_visit_that_is_not_this_patients_is_refused_before_anything_is_stored(
        actors: Actors, trial: Trial, visit: SubjectVisit, media: Path, whose: str) -> None:
    other = {
        "another_patient": lambda: _visit_of(actors.coordinator_a, trial, actors.hospital_a).pk,
        "another_hospital": lambda: _visit_of(actors.coordinator_b, trial, actors.hospital_b).pk,
        "no_such_visit": lambda: SubjectVisit.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000,
    }[whose]()
    response = _post(actors, visit.subject.patient, other)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_trial_visit" and list(body["fields"]) == ["trial_visit_id"]
    # The same words whether the visit exists elsewhere or not at all: the answer reveals no other visit.
    assert body["detail"] == "This trial visit is not one of this patient's visits that you can see."
    assert visit.subject.patient.study_id not in response.content.decode()
    _assert_nothing_written(media)


def test_web_upload_refuses_a_bad_visit_next_to_the_field(client, actors: Actors, trial: Trial, visit: SubjectVisit,
                                                           media: Path) -> None:
    client.force_login(actors.coordinator_a)
    patient = visit.subject.patient
    refused = "This trial visit is not one of this patient's visits that you can see."
    for value, message in (("abc", "Enter a whole number."),
                           (str(_visit_of(actors.coordinator_a, trial, actors.hospital_a).pk), refused),
                           (str(_visit_of(actors.coordinator_b, trial, actors.hospital_b).pk), refused)):
        answer = client.post(reverse("web-upload"), {"patient": patient.pk, "trial_visit_id": value, "files": [as_upload(sample(PET))]},
                             HTTP_ACCEPT="application/json")
        assert answer.status_code == 400
        assert answer.json()["errors"] == {"trial_visit_id": [message]}
        page = client.post(reverse("web-upload"), {"patient": patient.pk, "trial_visit_id": value, "files": [as_upload(sample(PET))]})
        assert page.status_code == 400 and 'id="id_trial_visit_id"' in page.content.decode()
    _assert_nothing_written(media)
    accepted = client.post(reverse("web-upload"), {"patient": patient.pk, "trial_visit_id": str(visit.pk),
                                                   "files": [as_upload(sample(PET))]}, HTTP_ACCEPT="application/json")
    assert accepted.status_code == 201 and Upload.objects.get().trial_visit == visit



@pytest.mark.django_db(transaction=True)
def test_migration_keeps_real_visit_links_and_nulls_ids_that_name_no_visit(reference_rows: None, actors: Actors, trial: Trial,
                                                                          visit: SubjectVisit) -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("imaging", "0003_alter_upload_source")], [("imaging", "0004_trial_visit_foreign_key")]
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        old = MigrationExecutor(connection).loader.project_state(before).apps
        Study, OldUpload = old.get_model("imaging", "ImagingStudy"), old.get_model("imaging", "Upload")
        patient_id, missing = visit.subject.patient_id, visit.pk + 1000
        for uid, visit_id in (("2.25.1", visit.pk), ("2.25.2", missing), ("2.25.3", None)):
            Study.objects.create(patient_id=patient_id, study_uid=uid, trial_visit_id=visit_id, hold_reasons=[])
            OldUpload.objects.create(patient_id=patient_id, uploaded_by_id=actors.coordinator_a.pk, source="api",
                                     trial_visit_id=visit_id, items=[uid])
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = MigrationExecutor(connection).loader.project_state(after).apps
        studies = dict(new.get_model("imaging", "ImagingStudy").objects.values_list("study_uid", "trial_visit_id"))
        uploads = {u.items[0]: u.trial_visit_id for u in new.get_model("imaging", "Upload").objects.all()}
        assert studies == uploads == {"2.25.1": visit.pk, "2.25.2": None, "2.25.3": None}
    finally:
        MigrationExecutor(connection).migrate(leaves)
