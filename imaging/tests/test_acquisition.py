"""An exam's acquisition protocol and sedation: inferred by the dose step (1/6 activity -> low dose, a 3-minute whole-body
scan -> short scan, never replacing a protocol set by hand) and set by hand on the study page and through the API (audited; a
bad choice is 400; another hospital's study 404; a role that may not change it 403)."""
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse

from conftest import Actors, api_client
from imaging import synthetic
from imaging.models import ImagingStudy
from imaging.services.acquisition import LOW_DOSE_MAX_FRACTION, SHORT_SCAN_MAX_MS, Scan, infer_protocol, study_acquisition_update
from imaging.services.dose import study_dose_compute
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done
from imaging.tests.helpers import child, like
from registry.models import AuditEvent
from registry.tests.builders import client_of

pytestmark = pytest.mark.usefixtures("eager")

# The EANM card's 18F-FDG activity for the 18 kg child of imaging.tests.helpers.like: 14.0 MBq x 4.43 = 62.02 MBq
# (imaging/tests/test_analysis_dose.py checks the dose step finds it).
RECOMMENDED_MBQ = 62.02
Protocol = ImagingStudy.AcquisitionProtocol


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


def _pet(actors, patient, tmp_path: Path, capture, *, injected: float, frame_ms: int, seed: int = 1,  # type: ignore[no-untyped-def]
         whole_body: bool = False) -> ImagingStudy:
    """A PET exam (4 slices) through the ingest and the pipeline, with this activity and frame duration. Whole body: the
    slices 150 mm apart (600 mm, over 40 % of the child's 1.08 m) in one frame (one acquisition time, as a total-body
    scanner's); otherwise 3 mm apart (one bed over 12 mm)."""
    child_like = like(patient)
    ctx = synthetic.study_context(patient=child_like, seed=seed, study_date=date(2025, 3, 4))
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=child_like, seed=seed, n_slices=4, rows=16, cols=16, study=ctx,
                                    injected_mbq=injected, slice_thickness_mm=150.0 if whole_body else 3.0)
    for ds in datasets:
        ds.ActualFrameDuration = frame_ms
        ds.AcquisitionDate, ds.AcquisitionTime = datasets[0].AcquisitionDate, datasets[0].AcquisitionTime
    study = ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / f"s{seed}", capture)
    pipeline_done(study)
    study.refresh_from_db()
    return study


def test_the_rule() -> None:
    body, bed = Scan(600_000, whole_body=True), Scan(120_000, whole_body=False)
    assert infer_protocol(activity_mbq=10.0, recommended_mbq=60.0, scan=body).protocol == Protocol.LOW_DOSE
    assert infer_protocol(activity_mbq=30.0, recommended_mbq=60.0, scan=body).protocol == Protocol.LOW_DOSE  # exactly half
    assert infer_protocol(activity_mbq=31.0, recommended_mbq=60.0, scan=body).protocol == Protocol.STANDARD
    assert infer_protocol(activity_mbq=60.0, recommended_mbq=60.0, scan=Scan(180_000, whole_body=True)).protocol == Protocol.SHORT_SCAN
    assert infer_protocol(activity_mbq=60.0, recommended_mbq=60.0, scan=Scan(180_001, whole_body=True)).protocol == Protocol.STANDARD
    # A short frame over one bed is not a short whole-body scan: the standard activity decides.
    assert infer_protocol(activity_mbq=60.0, recommended_mbq=60.0, scan=bed).protocol == Protocol.STANDARD
    # Both reduced: the activity decides (the field is read for the dose saved).
    assert infer_protocol(activity_mbq=10.0, recommended_mbq=60.0, scan=Scan(180_000, whole_body=True)).protocol == Protocol.LOW_DOSE
    # A short whole-body scan needs no recommendation; nothing else said: unknown.
    assert infer_protocol(activity_mbq=60.0, recommended_mbq=None, scan=Scan(180_000, whole_body=True)).protocol == Protocol.SHORT_SCAN
    assert infer_protocol(activity_mbq=60.0, recommended_mbq=None, scan=body).protocol == Protocol.UNKNOWN
    assert infer_protocol(activity_mbq=None, recommended_mbq=60.0, scan=Scan(None, whole_body=False)).protocol == Protocol.UNKNOWN
    assert LOW_DOSE_MAX_FRACTION == 0.5 and SHORT_SCAN_MAX_MS == 180_000


def test_one_sixth_activity_is_inferred_low_dose_and_audited(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    study = _pet(actors, patient, tmp_path, django_capture_on_commit_callbacks, injected=round(RECOMMENDED_MBQ / 6, 2), frame_ms=600_000)
    assert study.modality_group == ImagingStudy.ModalityGroup.PET_CT
    assert (study.acquisition_protocol, study.acquisition_protocol_source) == (Protocol.LOW_DOSE, "inferred")
    [event] = AuditEvent.objects.filter(action="infer_protocol", object_id=str(study.pk))
    assert event.after["acquisition_protocol"] == "low_dose" and "17%" in event.after["basis"]
    assert study.sedation == ImagingStudy.Sedation.NOT_RECORDED  # never inferred


def test_a_three_minute_whole_body_frame_is_a_short_scan(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    capture = django_capture_on_commit_callbacks
    short = _pet(actors, patient, tmp_path, capture, injected=RECOMMENDED_MBQ, frame_ms=180_000, seed=1, whole_body=True)
    assert short.acquisition_protocol == Protocol.SHORT_SCAN
    [event] = AuditEvent.objects.filter(action="infer_protocol", object_id=str(short.pk))
    assert event.after["basis"].startswith("whole-body scan of 180 s")
    ten_minutes = _pet(actors, patient, tmp_path, capture, injected=RECOMMENDED_MBQ, frame_ms=600_000, seed=2, whole_body=True)
    assert ten_minutes.acquisition_protocol == Protocol.STANDARD
    # Three minutes over one 12 mm bed says nothing about the whole-body scan time: the standard activity decides.
    one_bed = _pet(actors, patient, tmp_path, capture, injected=RECOMMENDED_MBQ, frame_ms=180_000, seed=3)
    assert one_bed.acquisition_protocol == Protocol.STANDARD


def test_a_protocol_set_by_hand_is_never_replaced(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    study = _pet(actors, patient, tmp_path, django_capture_on_commit_callbacks, injected=round(RECOMMENDED_MBQ / 6, 2), frame_ms=600_000)
    assert study.acquisition_protocol == Protocol.LOW_DOSE
    # The coordinator knows better (say the activity was recorded wrongly): standard, by hand; the dose step runs again.
    study_acquisition_update(actor=actors.coordinator_a, study=study, acquisition_protocol=Protocol.STANDARD)
    study_dose_compute(study=study)
    study.refresh_from_db()
    assert (study.acquisition_protocol, study.acquisition_protocol_source) == (Protocol.STANDARD, "manual")
    # "Not known" set by hand is a decision too: the dose step does not fill it.
    study_acquisition_update(actor=actors.coordinator_a, study=study, acquisition_protocol=Protocol.UNKNOWN)
    study_dose_compute(study=study)
    study.refresh_from_db()
    assert (study.acquisition_protocol, study.acquisition_protocol_source) == (Protocol.UNKNOWN, "manual")
    assert AuditEvent.objects.filter(action="infer_protocol", object_id=str(study.pk)).count() == 1  # the first one only


def _bare_study(actors: Actors) -> ImagingStudy:
    patient = child(actors.coordinator_a, actors.hospital_a)
    return ImagingStudy.objects.create(patient=patient, study_uid="2.25.4242", study_date=date(2025, 3, 4), tracer="F18_FDG",
                                       modality_group="pet_ct", status=ImagingStudy.Status.READY)


@pytest.mark.django_db
def test_api_patch_sets_protocol_and_sedation_audited(actors: Actors) -> None:
    study = _bare_study(actors)
    url = f"/api/v1/imaging/studies/{study.pk}/"
    response = api_client(actors.investigator_a).patch(url, {"acquisition_protocol": "low_dose", "sedation": "general_anaesthesia",
                                                             "reason": "anaesthesia chart"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["acquisition_protocol"], body["acquisition_protocol_source"], body["sedation"]) == ("low_dose", "manual",
                                                                                                     "general_anaesthesia")
    [event] = AuditEvent.objects.filter(action="update_acquisition", object_id=str(study.pk))
    assert event.before["sedation"] == "not_recorded" and event.after["sedation"] == "general_anaesthesia"
    assert event.reason == "anaesthesia chart" and event.actor_id == actors.investigator_a.pk
    # The same values again: nothing new, nothing written.
    api_client(actors.investigator_a).patch(url, {"sedation": "general_anaesthesia"}, format="json")
    assert AuditEvent.objects.filter(action="update_acquisition").count() == 1
    # The list shows the fields too.
    [row] = api_client(actors.coordinator_a).get("/api/v1/imaging/studies/").json()["results"]
    assert (row["acquisition_protocol"], row["sedation"]) == ("low_dose", "general_anaesthesia")


@pytest.mark.django_db
def test_api_patch_refusals(actors: Actors) -> None:
    study = _bare_study(actors)
    url = f"/api/v1/imaging/studies/{study.pk}/"
    bad = api_client(actors.coordinator_a).patch(url, {"acquisition_protocol": "ultra_low"}, format="json")
    assert bad.status_code == 400 and "acquisition_protocol" in bad.json()["fields"]
    empty = api_client(actors.coordinator_a).patch(url, {"reason": "nothing"}, format="json")
    assert empty.status_code == 400
    # The other fields of a study are not writable here: ignored, and nothing is given -> 400.
    assert api_client(actors.coordinator_a).patch(url, {"tracer": "F18_NAF"}, format="json").status_code == 400
    assert api_client(actors.monitor_a).patch(url, {"sedation": "none"}, format="json").status_code == 403
    assert api_client(actors.coordinator_b).patch(url, {"sedation": "none"}, format="json").status_code == 404
    study.refresh_from_db()
    assert (study.acquisition_protocol, study.sedation, study.tracer) == ("unknown", "not_recorded", "F18_FDG")
    assert not AuditEvent.objects.filter(action="update_acquisition").exists()


@pytest.mark.django_db
def test_study_page_form(actors: Actors) -> None:
    study = _bare_study(actors)
    page = reverse("web-study-detail", args=[study.pk])
    post = reverse("web-study-acquisition", args=[study.pk])
    client = client_of(actors.coordinator_a)
    assert 'data-testid="acquisition-form"' in client.get(page).content.decode()
    # A monitor sees the study but not the form, and a POST is refused; another hospital's coordinator gets 404.
    assert 'data-testid="acquisition-form"' not in client_of(actors.monitor_a).get(page).content.decode()
    assert client_of(actors.monitor_a).post(post, {"acquisition_protocol": "standard", "sedation": "none"}).status_code == 403
    assert client_of(actors.coordinator_b).post(post, {"acquisition_protocol": "standard", "sedation": "none"}).status_code == 404
    bad = client.post(post, {"acquisition_protocol": "ultra_low", "sedation": "none"})
    assert bad.status_code == 400 and "is-invalid" in bad.content.decode()
    assert not AuditEvent.objects.filter(action="update_acquisition").exists()
    done = client.post(post, {"acquisition_protocol": "short_scan", "sedation": "sedation", "reason": "3-minute protocol"})
    assert done.status_code == 302 and done.url == page
    study.refresh_from_db()
    assert (study.acquisition_protocol, study.acquisition_protocol_source, study.sedation) == ("short_scan", "manual", "sedation")
    [event] = AuditEvent.objects.filter(action="update_acquisition", object_id=str(study.pk))
    assert event.reason == "3-minute protocol" and event.actor_id == actors.coordinator_a.pk
    shown = client.get(page).content.decode()
    assert "Short scan" in shown and "set by hand" in shown
