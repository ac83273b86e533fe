"""The enhancement model pages: the list (SHA-256 short, contract, runs done/refused), register (upload + contract,
SHA-256 checked by the service), the model page with its runs and refusal reasons, and deactivation."""
import itertools
import re
from datetime import date
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conftest import Actors
from imaging.enhancement.models import EnhancementModel, EnhancementRun
from imaging.enhancement.services import model_register
from imaging.enhancement.tests.onnx_graphs import mean_filter_onnx, sha256
from imaging.models import ImagingStudy, Series
from registry.models import AuditEvent
from registry.tests.builders import consented_patient
from tests.test_view_inputs import violations

pytestmark = pytest.mark.django_db
_uids = itertools.count(1)
REASON = "The model expects voxels of 2 x 2 x 2 mm (within 0.1 mm); this series has 4 x 4 x 3 mm."


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _series(actors: Actors, hospital=None) -> Series:  # type: ignore[no-untyped-def]
    hospital = hospital or actors.hospital_a
    coordinator = actors.coordinator_a if hospital == actors.hospital_a else actors.coordinator_b
    patient = consented_patient(coordinator, hospital, sex="M", birth_date=date(2018, 5, 1), diagnosis_date=date(2020, 1, 10))
    n = next(_uids)
    made = ImagingStudy.objects.create(patient=patient, study_uid=f"2.25.93{n}", study_date=date(2020, 2, 1), tracer="F18_FDG",
                                       modality_group="pet_ct", status=ImagingStudy.Status.READY)
    return Series.objects.create(study=made, series_uid=f"2.25.93{n}01", modality="PT", series_number=1,
                                 pipeline_state=Series.PipelineState.DONE)


def _model(actors: Actors, version: str = "1.0") -> EnhancementModel:
    data = mean_filter_onnx()
    return model_register(actor=actors.data_manager, file=ContentFile(data), sha256=sha256(data), name="mean3", version=version,
                          voxel_size_mm=[2.0, 2.0, 2.0], max_activity_mbq_per_kg=1.0)


def _runs(actors: Actors, model: EnhancementModel, *, refused: int, done: int, hospital=None) -> None:  # type: ignore[no-untyped-def]
    for _ in range(refused):
        EnhancementRun.objects.create(model=model, source=_series(actors, hospital), outcome=EnhancementRun.Outcome.REFUSED, reason=REASON)
    for _ in range(done):
        source = _series(actors, hospital)
        derived = Series.objects.create(study=source.study, series_uid=f"{source.series_uid}9", modality="PT", series_number=1001,
                                        description="mean3 1.0", pipeline_state=Series.PipelineState.DONE)
        EnhancementRun.objects.create(model=model, source=source, derived=derived, outcome=EnhancementRun.Outcome.DONE, seconds=0.25,
                                      provider="CPUExecutionProvider")


def _register_form(**overrides) -> dict:  # type: ignore[no-untyped-def]
    data = mean_filter_onnx()
    return {"file": SimpleUploadedFile("mean3.onnx", data, content_type="application/octet-stream"), "sha256": sha256(data),
            "name": "mean3", "version": "web 1", "modality": "PT", "tracer": "", "units": "BQML", "voxel_row_mm": "2",
            "voxel_column_mm": "2", "voxel_slice_mm": "3", "voxel_tolerance_mm": "0.1", "max_activity_mbq_per_kg": "1.5",
            "normalisation": "body_mean", "body_mask_fraction": "0.05", "description": "", **overrides}


# --- Pages ---------------------------------------------------------------------------------------------------------------

def test_model_list_shows_contract_and_run_counts(actors: Actors, django_assert_max_num_queries) -> None:
    model = _model(actors)
    _runs(actors, model, refused=2, done=1)
    _runs(actors, _model(actors, "2.0"), refused=0, done=2)
    client = _client(actors.data_manager)
    with django_assert_max_num_queries(9):  # session, user, roles (2), models, run counts; the session saved (3)
        page = client.get(reverse("web-enhancement-models"))
    assert page.status_code == 200
    html = page.content.decode()
    row = re.search(rf'data-model-id="{model.pk}".*?</tr>', html, re.S).group(0)
    assert f"<code title=\"{model.sha256}\">{model.sha256[:12]}…</code>" in row
    assert "PT · any tracer · BQML · 2 x 2 x 2 mm" in row and "1 MBq/kg" in row
    assert re.findall(r'class="text-end">(\d+)</td>', row) == ["1", "2"]  # done, refused
    assert 'data-testid="new-model"' in html


def test_run_counts_are_of_the_runs_the_user_may_see(actors: Actors) -> None:
    model = _model(actors)
    _runs(actors, model, refused=1, done=0)
    _runs(actors, model, refused=2, done=0, hospital=actors.hospital_b)
    html = _client(actors.coordinator_a).get(reverse("web-enhancement-models")).content.decode()
    assert re.findall(r'class="text-end">(\d+)</td>', html) == ["0", "1"] and 'data-testid="new-model"' not in html


def test_model_page_lists_runs_with_refusal_reasons(actors: Actors, django_assert_max_num_queries) -> None:
    model = _model(actors)
    _runs(actors, model, refused=2, done=1)
    client = _client(actors.data_manager)
    url = reverse("web-enhancement-model", args=[model.pk])
    with django_assert_max_num_queries(10):  # session, user, roles (2), model, runs, run counts; the session saved (3)
        page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert model.sha256 in html and html.count(REASON) == 2 and html.count('data-outcome="done"') == 1
    assert "CPUExecutionProvider" in html and 'data-testid="deactivate-model"' in html
    _runs(actors, model, refused=4, done=2)
    with django_assert_max_num_queries(10):  # no query per run
        assert client.get(url).content.decode().count('data-testid="run"') == 9


# --- Register --------------------------------------------------------------------------------------------------------------

def test_register_a_model_through_the_page(actors: Actors) -> None:
    response = _client(actors.data_manager).post(reverse("web-enhancement-model-new"), _register_form())
    model = EnhancementModel.objects.get(name="mean3", version="web 1")
    assert response.status_code == 302 and response.url == reverse("web-enhancement-model", args=[model.pk])
    assert model.voxel_size_mm == [2.0, 2.0, 3.0] and model.max_activity_mbq_per_kg == 1.5 and model.active
    assert model.sha256 == sha256(mean_filter_onnx())
    assert AuditEvent.objects.filter(action="create", object_type="enhancement.enhancementmodel", object_id=str(model.pk)).exists()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"sha256": "0" * 64}, "The file&#x27;s SHA-256 is not the one given"),  # the service's check of the bytes
    ({"sha256": "not a checksum"}, "A SHA-256 is 64 hexadecimal characters."),
    ({"file": SimpleUploadedFile("junk.onnx", b"not an onnx graph"), "sha256": sha256(b"not an onnx graph")},
     "ONNX Runtime cannot use this file"),
    ({"voxel_slice_mm": "0"}, "Ensure this value is greater than or equal to 0.01."),
])
def test_a_refused_registration_says_why_and_writes_nothing(actors: Actors, overrides, message) -> None:  # type: ignore[no-untyped-def]
    events = AuditEvent.objects.count()
    response = _client(actors.data_manager).post(reverse("web-enhancement-model-new"), _register_form(**overrides))
    assert response.status_code == 400 and message in response.content.decode()
    assert not EnhancementModel.objects.exists() and AuditEvent.objects.count() == events


def test_the_same_name_and_version_is_refused(actors: Actors) -> None:
    _model(actors, "web 1")
    response = _client(actors.data_manager).post(reverse("web-enhancement-model-new"), _register_form())
    assert response.status_code == 400 and "A model with this name and version is registered." in response.content.decode()
    assert EnhancementModel.objects.count() == 1


@pytest.mark.parametrize("name", ["coordinator_a", "investigator_a", "monitor_a"])
def test_other_roles_see_the_models_but_do_not_register_or_deactivate(actors: Actors, name: str) -> None:
    model = _model(actors)
    client = _client(actors.by_name(name))
    assert f'data-model-id="{model.pk}"' in client.get(reverse("web-enhancement-models")).content.decode()
    page = client.get(reverse("web-enhancement-model", args=[model.pk])).content.decode()
    assert 'data-testid="deactivate-model"' not in page
    events = AuditEvent.objects.count()
    assert client.get(reverse("web-enhancement-model-new")).status_code == 403
    assert client.post(reverse("web-enhancement-model-new"), _register_form(version="x")).status_code == 403
    assert client.post(reverse("web-enhancement-model-deactivate", args=[model.pk]), {"reason": "old"}).status_code == 403
    model.refresh_from_db()
    assert model.active and EnhancementModel.objects.count() == 1 and AuditEvent.objects.count() == events


# --- Deactivate -----------------------------------------------------------------------------------------------------------

def test_deactivate_with_a_reason(actors: Actors) -> None:
    model = _model(actors)
    client = _client(actors.data_manager)
    response = client.post(reverse("web-enhancement-model-deactivate", args=[model.pk]), {"reason": "replaced by 2.0"})
    assert response.status_code == 302
    model.refresh_from_db()
    assert model.active is False
    event = AuditEvent.objects.get(action="deactivate_enhancement_model", object_id=str(model.pk))
    assert event.reason == "replaced by 2.0"
    events = AuditEvent.objects.count()
    again = client.post(reverse("web-enhancement-model-deactivate", args=[model.pk]), {"reason": "twice"})
    assert again.status_code == 400 and "is already inactive" in again.content.decode() and AuditEvent.objects.count() == events
    listing = client.get(reverse("web-enhancement-models")).content.decode()
    assert 'data-active="false"' in listing


def test_deactivate_without_a_reason_writes_nothing(actors: Actors) -> None:
    model = _model(actors)
    events = AuditEvent.objects.count()
    response = _client(actors.data_manager).post(reverse("web-enhancement-model-deactivate", args=[model.pk]), {"reason": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    model.refresh_from_db()
    assert model.active and AuditEvent.objects.count() == events


def test_the_pages_read_their_input_through_forms() -> None:
    for module in ("views.py", "forms.py", "services.py"):
        assert list(violations((Path(__file__).resolve().parent.parent / "web" / module).read_text())) == []
