"""The viewer's page dicts (imaging/viewer_config.py) and saving its measurements (POST /api/v1/imaging/measurements/).

Real studies: a synthetic FDG PET and a 123I-MIBG SPECT are ingested and run through the pipeline (SUV, previews), so
the SUV factor in the viewer dict is the stored one and the measured images exist. A blinded session over a PET pair
checks the case context (pseudonymous UIDs resolved by the server).
"""
import math
from typing import Any

import pytest
from django.urls import reverse

from conftest import api_client
from imaging import synthetic, viewer_config
from imaging.models import Instance, Series, SuvResult, VoiMeasurement
from imaging.reading import dicomweb as case_dw
from imaging.reading.models import ScoreSheet
from imaging.reading.services.sessions import ItemInput, reading_session_create
from imaging.reading.services.sheets import score_sheet_submit
from imaging.reading.tests import helpers as h
from imaging.tests.analysis_helpers import ingest_datasets
from imaging.tests.helpers import child, like
from registry.models import AuditEvent

pytestmark = pytest.mark.usefixtures("eager")
URL = "/api/v1/imaging/measurements/"


@pytest.fixture
def pet(actors, tmp_path, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=3, n_slices=4, rows=16, cols=16)
    return ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / "pet", django_capture_on_commit_callbacks)


@pytest.fixture
def mibg(actors, tmp_path, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    datasets = synthetic.mibg_spect_series(patient=like(patient), seed=4, n_slices=4, rows=16, cols=16)
    return ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / "nm", django_capture_on_commit_callbacks)


def _first(study) -> tuple[Series, Instance]:  # type: ignore[no-untyped-def]
    series = study.series.order_by("series_number").first()
    return series, series.instances.order_by("instance_number").first()


def _body(page: dict[str, Any], series_uid: str, sop_uid: str, **over: Any) -> dict[str, Any]:
    return {"context": page, "target": "voi", "seriesInstanceUID": series_uid, "sopInstanceUID": sop_uid, "tool": "length",
            "label": "left adrenal", "values": {"length_mm": 5.0}, "points": [[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]], **over}


def _study_body(study, **over: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    series, inst = _first(study)
    return _body({"page": "study", "study": study.pk}, series.series_uid, inst.sop_instance_uid, **over)


# --- The page dicts ------------------------------------------------------------------------------------------
def test_study_page_viewer_has_the_stored_suv_factor_and_pinned_queries(pet, actors, client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client.force_login(actors.investigator_a)
    with django_assert_max_num_queries(15):  # the page as it was (14) and the viewer's one query of series with SUV
        response = client.get(reverse("web-study-detail", args=[pet.pk]))
    viewer = response.context["viewer"]
    series = pet.series.get()
    factor = SuvResult.objects.get(series=series).suv_bw_factor
    assert factor and viewer["wadoRoot"] == "/dicomweb" and viewer["studyInstanceUID"] == pet.study_uid
    label = series.description or f"Series {series.series_number}"
    assert viewer["series"] == [{"seriesInstanceUID": series.series_uid, "modality": "PT", "label": label,
                                 "suv": {"factor": factor, "kind": "SUVbw"}, "suvReason": None}]
    assert viewer["blinded"] is False and viewer["lang"] == "en"
    assert viewer["measurements"] == {"url": URL, "targets": [{"value": "voi", "label": "VOI record"}],
                                      "context": {"page": "study", "study": pet.pk}}


def test_viewer_dict_costs_one_query_and_gives_reasons(pet, mibg, actors, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    viewer_config.for_study(actors.investigator_a, pet)  # the user's memberships are read once and kept on the user
    with django_assert_num_queries(1):
        nm = viewer_config.for_study(actors.investigator_a, mibg)
    assert nm["series"][0]["suv"] is None and "PET" in nm["series"][0]["suvReason"]
    SuvResult.objects.filter(series__study=pet).update(quantifiable=False, suv_bw_factor=None,
                                                       not_quantifiable_reason="radionuclide total dose missing")
    assert viewer_config.for_study(actors.investigator_a, pet)["series"][0]["suvReason"] == "radionuclide total dose missing"
    # Out of scope or nothing published: no viewer.
    assert viewer_config.for_study(actors.coordinator_b, pet) is None
    # A monitor sees the images but records nothing: no measurement targets.
    assert viewer_config.for_study(actors.monitor_a, pet)["measurements"] is None


def test_score_sheet_page_targets_the_sheet_until_it_is_submitted(mibg, actors, client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client.force_login(actors.investigator_a)
    url = reverse("web-score-sheet", args=[mibg.pk, "curie"])
    with django_assert_max_num_queries(10):  # the page's 9 and the viewer's one query of series with SUV
        viewer = client.get(url).context["viewer"]
    assert [t["value"] for t in viewer["measurements"]["targets"]] == ["voi", "score_sheet"]
    assert viewer["measurements"]["context"] == {"page": "score_sheet", "study": mibg.pk, "kind": "curie"}
    sheet = h.submitted(actors.investigator_a, mibg, "curie", 0, "baseline")
    assert sheet.status == ScoreSheet.Status.SUBMITTED
    assert [t["value"] for t in client.get(url).context["viewer"]["measurements"]["targets"]] == ["voi"]


# --- Saving -------------------------------------------------------------------------------------------------
def test_a_length_becomes_an_audited_voi_record(pet, actors) -> None:  # type: ignore[no-untyped-def]
    response = api_client(actors.investigator_a).post(URL, _study_body(pet), format="json")
    assert response.status_code == 201, response.json()
    row = VoiMeasurement.objects.get(pk=response.json()["id"])
    series, inst = _first(pet)
    assert (row.series, row.shape, row.sop_instance_uid, row.label) == (series, "line", inst.sop_instance_uid, "left adrenal")
    assert row.length_mm == 5.0 and row.points_mm == [[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]] and row.created_by == actors.investigator_a
    assert row.details["computed_by"] == "viewer" and row.method_version == "viewer-1"
    event = AuditEvent.objects.get(object_type__iendswith="voimeasurement", object_id=str(row.pk))
    assert event.action == "create" and event.actor == actors.investigator_a


def test_roi_suv_must_be_the_stored_factor_times_the_maximum(pet, actors) -> None:  # type: ignore[no-untyped-def]
    factor = SuvResult.objects.get(series__study=pet).suv_bw_factor
    values = {"max": 12000.0, "mean": 8000.0, "suv_max": 12000.0 * factor, "suv_mean": 8000.0 * factor, "area_mm2": 40.0,
              "pixels": 10}
    points = [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [10.0, 4.0, 0.0]]
    client = api_client(actors.investigator_a)
    ok = client.post(URL, _study_body(pet, tool="roi", values=values, points=points), format="json")
    assert ok.status_code == 201, ok.json()
    row = VoiMeasurement.objects.get(pk=ok.json()["id"])
    assert row.shape == "roi" and math.isclose(row.suv_max, 12000.0 * factor) and row.area_mm2 == 40.0 and row.voxels == 10
    wrong = client.post(URL, _study_body(pet, tool="roi", values={**values, "suv_max": 12000.0 * factor * 1.1}, points=points),
                        format="json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "suv_mismatch" and wrong.json()["message"]


@pytest.mark.parametrize(("change", "code"), [
    ({"seriesInstanceUID": "1.2.3.4"}, "unknown_series"),
    ({"sopInstanceUID": "1.2.3.4"}, "unknown_instance"),
    ({"values": {"length_mm": -5.0}, "points": [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]}, "negative_length"),
    ({"values": {"length_mm": 9.0}}, "length_mismatch"),
    ({"values": {"mean": 3.0}, "tool": "roi"}, "values_missing"),
    ({"values": {"suv": 2.0}, "tool": "length"}, "values_missing"),
    ({"points": [[0.0, 0.0]]}, "invalid"),
    ({"target": "score_sheet"}, "invalid_target"),
    ({"context": {"page": "elsewhere"}}, "invalid_context"),
    ({"tool": "angle"}, "invalid"),
    ({"points": [[0.0, 0.0, 0.0], ["inf", 0.0, 0.0]]}, "invalid"),  # refused by the serializer (the service checks too)
    ({"values": {"length_mm": 5.0, "other": 1.0}}, "invalid"),
    ({"tool": "probe", "values": {"suv": "inf"}, "points": [[0.0, 0.0, 0.0]]}, "invalid"),
])
def test_bad_input_is_a_400_with_code_and_message_and_writes_nothing(pet, actors, change, code) -> None:  # type: ignore[no-untyped-def]
    events = AuditEvent.objects.count()
    response = api_client(actors.investigator_a).post(URL, _study_body(pet, **change), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code and response.json()["message"]
    assert not VoiMeasurement.objects.exists() and AuditEvent.objects.count() == events


def test_a_series_of_another_study_in_scope_is_not_the_pages(pet, mibg, actors) -> None:  # type: ignore[no-untyped-def]
    series, inst = _first(mibg)
    response = api_client(actors.investigator_a).post(URL, _study_body(pet, seriesInstanceUID=series.series_uid,
                                                                       sopInstanceUID=inst.sop_instance_uid), format="json")
    assert response.status_code == 400 and response.json()["code"] == "unknown_series"


def test_scope(pet, actors) -> None:  # type: ignore[no-untyped-def]
    body = _study_body(pet)
    assert api_client(actors.coordinator_b).post(URL, body, format="json").status_code == 404
    assert api_client(actors.nobody).post(URL, body, format="json").status_code == 404
    assert api_client(actors.monitor_a).post(URL, body, format="json").status_code == 403
    assert api_client(None).post(URL, body, format="json").status_code == 401
    assert not VoiMeasurement.objects.exists()


def test_score_sheet_target_appends_to_the_draft_comment_until_submitted(mibg, actors) -> None:  # type: ignore[no-untyped-def]
    series, inst = _first(mibg)
    client = api_client(actors.investigator_a)
    body = _body({"page": "score_sheet", "study": mibg.pk, "kind": "curie"}, series.series_uid, inst.sop_instance_uid,
                 target="score_sheet", tool="probe", label="skull", values={"raw": 17.0, "rescaled": 17.0}, points=[[1.0, 2.0, 3.0]])
    first = client.post(URL, body, format="json")
    assert first.status_code == 201, first.json()
    sheet = ScoreSheet.objects.get(pk=first.json()["id"])
    assert sheet.status == "draft" and sheet.reader == actors.investigator_a and "skull" in sheet.comment and "17" in sheet.comment
    second = client.post(URL, {**body, "label": "femur"}, format="json")
    assert second.status_code == 201 and second.json()["id"] == sheet.pk
    sheet.refresh_from_db()
    assert sheet.comment.count("[viewer]") == 2 and "femur" in sheet.comment.splitlines()[1]
    assert AuditEvent.objects.filter(object_type__iendswith="scoresheet", object_id=str(sheet.pk)).count() == 2
    # ROI SUVs on a SPECT without SUV are refused; a submitted sheet no longer changes.
    roi = client.post(URL, {**body, "tool": "roi", "values": {"max": 40.0, "suv_max": 4.0}, "points": [[0, 0, 0], [1, 1, 0]]},
                      format="json")
    assert roi.status_code == 400 and roi.json()["code"] == "no_suv"
    score_sheet_submit(actor=actors.investigator_a, sheet=_complete(sheet))
    late = client.post(URL, body, format="json")
    assert late.status_code == 400 and late.json()["code"] == "already_submitted"
    # Another hospital's reader cannot reach the page's study.
    assert api_client(actors.coordinator_b).post(URL, body, format="json").status_code == 404


def _complete(sheet: ScoreSheet) -> ScoreSheet:
    sheet.values = h.values("curie", 0)
    sheet.save(update_fields=["values"])
    return sheet


def test_blinded_case_measurement_resolves_pseudonymous_uids(actors, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    patient = h.patient_at(actors.coordinator_b, actors.hospital_b)
    ctx = synthetic.study_context(patient=like(patient), seed=9)
    pair = [synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=9, study=ctx, low_dose=low, n_slices=3, rows=16,
                                 cols=16, series_number=n) for low, n in ((True, 3), (False, 5))]
    study = ingest_datasets(actors.coordinator_b, patient, [*pair[0], *pair[1]], tmp_path, django_capture_on_commit_callbacks)
    items = [ItemInput(study.series.get(series_number=n), arm) for n, arm in ((3, "low"), (5, "std"))]
    session = reading_session_create(actor=actors.data_manager, name="s", items=items, readers=[actors.investigator_a], seed=2)
    case = session.assignments.get().cases.select_related("assignment", "item__series__study").get(position=1)
    names = case_dw.Pseudonyms(case)
    inst = case.item.series.instances.order_by("instance_number").first()
    context = case_dw.viewer_for(case)["measurements"]["context"]
    body = _body(context, names.series_uid, names.of(inst.sop_instance_uid), tool="roi",
                 values={"max": 3.2, "suv_max": 3.2, "mean": 2.0, "suv_mean": 2.0}, points=[[0, 0, 0], [5, 5, 0]])
    reader = api_client(actors.investigator_a)
    saved = reader.post(URL, body, format="json")
    assert saved.status_code == 201, saved.json()
    row = VoiMeasurement.objects.get(pk=saved.json()["id"])
    assert row.series == case.item.series and row.sop_instance_uid == inst.sop_instance_uid and row.suv_max == 3.2
    assert row.details["reading_case"] is True
    # The real UIDs are not the case's; the SUVs must be the rescaled values themselves (factor 1 in a case).
    real = reader.post(URL, {**body, "seriesInstanceUID": case.item.series.series_uid}, format="json")
    assert real.status_code == 400 and real.json()["code"] == "unknown_series"
    folded = reader.post(URL, {**body, "values": {"max": 3.2, "suv_max": 9.9}}, format="json")
    assert folded.status_code == 400 and folded.json()["code"] == "suv_mismatch"
    # Another user's request with this case's context: the case is not theirs.
    assert api_client(actors.data_manager).post(URL, body, format="json").status_code == 404
    assert context == {"page": "case", "assignment": case.assignment_id, "position": 1}


def test_the_service_refuses_non_finite_points_whatever_the_client(pet, actors) -> None:  # type: ignore[no-untyped-def]
    from imaging.services.measurements import Measurement, measurement_save
    from registry.errors import ApplicationError

    series, inst = _first(pet)
    m = Measurement(context={"page": "study", "study": pet.pk}, target="voi", series_uid=series.series_uid,
                    sop_uid=inst.sop_instance_uid, tool="roi", label="", values={"max": 1.0},
                    points=[[0.0, 0.0, 0.0], [math.inf, 0.0, 0.0]])
    with pytest.raises(ApplicationError) as refused:
        measurement_save(actor=actors.investigator_a, measurement=m)
    assert refused.value.code == "invalid_points" and not VoiMeasurement.objects.exists()
