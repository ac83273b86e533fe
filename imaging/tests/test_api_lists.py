"""The studies list builds its rows from values() (issue 19 item 2): it must read exactly as StudySerializer reads
each study, series and pipeline steps included, in the caller's scope, with a query count that does not grow."""
import json
from datetime import date

import pytest

from conftest import Actors, api_client
from imaging.api.views import StudySerializer
from imaging.models import ImagingStudy, Series
from imaging.tests.helpers import child
from registry.access import Action

URL = "/api/v1/imaging/studies/"


def _studies(actors: Actors, n: int, hospital=None) -> list[ImagingStudy]:  # type: ignore[no-untyped-def]
    # Rows made directly (test data, not a view's write): the list only reads them.
    patient = child(actors.coordinator_a if hospital is None else actors.coordinator_b, hospital or actors.hospital_a)
    made = []
    for i in range(n):
        study = ImagingStudy.objects.create(
            patient=patient, study_uid=f"2.25.{patient.pk}{i:04d}", study_date=date(2024, 1 + i % 12, 1 + i % 27),
            modality_group="pet_ct", tracer="F18_FDG", patient_weight_kg=18.5 + i, patient_size_m=None if i % 2 else 1.02,
            status="on_hold" if i % 5 == 0 else "ready", hold_reasons=["weight differs"] if i % 5 == 0 else [])
        for j in range(i % 3):
            Series.objects.create(study=study, series_uid=f"{study.study_uid}.{j}", modality="PT" if j else "CT",
                                  series_number=j or None, number_of_instances=10 * j, geometry={"rows": 32 + j},
                                  pipeline_state="done" if j else "pending",
                                  pipeline_steps={"index": {"state": "done", "progress": 100, "finished_at": "2024-01-01T00:00:00Z"},
                                                  "suv": {"state": "failed", "error": "no dose", "result": {"k": j}}})
        made.append(study)
    return made


@pytest.mark.parametrize("params", [{}, {"page_size": 4, "page": 2}, {"status": "on_hold"}, {"ordering": "created_at"},
                                    {"patient__study_id": "NONE-00000"}])
def test_study_list_rows_are_the_serializers_rows(actors: Actors, params) -> None:  # type: ignore[no-untyped-def]
    _studies(actors, 12)
    _studies(actors, 3, hospital=actors.hospital_b)  # out of the coordinator's scope
    body = api_client(actors.coordinator_a).get(URL, params).json()
    studies = ImagingStudy.objects.prefetch_related("series").select_related("patient").restrict(actors.coordinator_a,
                                                                                                   Action.VIEW)
    if "status" in params:
        studies = studies.filter(status=params["status"])
    if "patient__study_id" in params:
        studies = studies.filter(patient__study_id=params["patient__study_id"])
    if "ordering" in params:
        studies = studies.order_by(params["ordering"])
    size, page = params.get("page_size", 50), params.get("page", 1)
    expected = json.loads(json.dumps(StudySerializer(studies[(page - 1) * size:page * size], many=True).data))
    assert body["count"] == studies.count() and body["results"] == expected
    assert "page_size" in params or not studies.exists() or any(row["series"] for row in body["results"])


def test_study_list_query_count_does_not_grow(actors: Actors, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = api_client(actors.coordinator_a)
    client.get("/api/v1/me/")
    _studies(actors, 3)
    # session, user, scope (hospital and trial memberships), count, page, the page's series, the session's save
    # (savepoint, update, release): 10, for 3 studies as for 30.
    with django_assert_max_num_queries(10):
        few = client.get(URL)
    _studies(actors, 30)
    with django_assert_max_num_queries(10):
        many = client.get(URL)
    assert few.json()["count"] == 3 and many.json()["count"] == 33
