"""A reader of a blinded session cannot learn an arm, a dose level or another reader's scores through ANY endpoint.

Real synthetic PET pairs (one-sixth activity vs standard, the activity in the DICOM header) are ingested and run
through the whole pipeline (dose, SUV, previews). Then every route without arguments, and every reading,
imaging, DICOMweb, audit and job route with every plausible argument, is called as the reader, and each answer
is searched for what would break the blinding. The same sweep as the data manager must find the arms (the
check can fail).
"""
import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from conftest import api_client
from imaging import synthetic
from imaging.models import DoseResult, ImagingStudy, Instance, Preview, Series, SuvResult, Upload
from imaging.reading.models import AssignmentCase, ReadingAssignment, ReadingSession, ScoreSheet, SessionItem
from imaging.reading.models.sessions import SCALES
from imaging.reading.services.sessions import ItemInput, assignment_case_score, reading_session_create
from imaging.reading.tests import helpers as h
from imaging.tests.analysis_helpers import ingest_datasets
from imaging.tests.helpers import like
from registry.models import AuditEvent, Patient
from registry.tests.factories import HospitalFactory

pytestmark = pytest.mark.usefixtures("eager")
ARMS = ("low-dose", "standard-dose")
OTHER_READER_TIME = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def blinded(actors, tmp_path, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    items, activities = [], set()
    for n in range(2):
        patient = h.patient_at(actors.coordinator_b, actors.hospital_b)
        child = like(patient)
        ctx = synthetic.study_context(patient=child, seed=40 + n)
        pair = [synthetic.pet_series(tracer="F18_FDG", patient=child, seed=40 + n, study=ctx, low_dose=low, n_slices=4,
                                     rows=24, cols=24, series_number=number) for low, number in ((True, 3), (False, 5))]
        study = ingest_datasets(actors.coordinator_b, patient, [*pair[0], *pair[1]], tmp_path / str(n),
                                django_capture_on_commit_callbacks)
        for arm, datasets in zip(ARMS, pair, strict=True):
            series = study.series.get(series_number=datasets[0].SeriesNumber)
            assert Preview.objects.filter(series=series).exists()  # the reader's images come from the pipeline
            items.append(ItemInput(series, arm))
            dose_bq = int(datasets[0].RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose)
            activities |= {str(dose_bq), f"{dose_bq / 1e6:.2f}"}
    activities |= {str(v) for v in DoseResult.objects.values_list("administered_activity_mbq", flat=True) if v}
    # The other reader works at a third hospital: a colleague's name on the reader's own membership list is not a leak.
    reader, other = actors.investigator_a, h.investigator(HospitalFactory(code="CCC"), "reader2")
    session = reading_session_create(actor=actors.data_manager, name="Secret session name", instructions="Score each case.",
                                     items=items, readers=[reader, other], seed=3)
    with time_machine.travel(OTHER_READER_TIME, tick=False):
        for case in session.assignments.get(reader=other).cases.all():
            assignment_case_score(actor=other, case=case, scores=dict.fromkeys(SCALES, 2))
    mine = session.assignments.get(reader=reader).cases.order_by("position")
    assignment_case_score(actor=reader, case=mine[0], scores=dict.fromkeys(SCALES, 4))
    series = [i.series for i in items]
    forbidden = {
        *ARMS, "low dose", "LOW DOSE", "standard dose", "Secret session name", "reader2", "data_manager",
        "2026-01-02T03:04",  # when the other reader scored
        *activities,
        *(s.series_uid for s in series), *(s.study.study_uid for s in series),
        *Instance.objects.filter(series__in=series).values_list("sop_instance_uid", flat=True),
    }
    return {"session": session, "reader": reader, "forbidden": forbidden, "activities": activities}


def _routes() -> list[tuple[str, tuple[str, ...]]]:
    found: set[tuple[str, tuple[str, ...]]] = set()

    def walk(resolver: URLResolver, prefix: str, params: tuple[str, ...]) -> None:
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            names = params + tuple(pattern.pattern.regex.groupindex)
            if isinstance(pattern, URLResolver):
                walk(pattern, route, names)
            elif isinstance(pattern, URLPattern) and pattern.name and route.startswith(("api/v1/", "dicomweb/")) \
                    and "format" not in names:
                found.add((pattern.name, names))

    walk(get_resolver(), "", ())
    return sorted(found)


def _candidates() -> dict[str, list[Any]]:
    ints: set[int] = set()
    for model in (ReadingSession, SessionItem, ReadingAssignment, AssignmentCase, ScoreSheet, ImagingStudy, Series,
                  Instance, Upload, Preview, DoseResult, SuvResult):
        ints |= set(model.objects.values_list("pk", flat=True))
    # Events of the session (they carry the arms) and of the scores; other events hold nothing of the session.
    ints |= set(AuditEvent.objects.filter(object_type__startswith="reading.").values_list("seq", flat=True))
    return {
        "position": [1, 2, 3, 4], "number": [0, 1, 2, 5], "study_id": list(Patient.objects.values_list("study_id", flat=True)),
        "study": list(ImagingStudy.objects.values_list("study_uid", flat=True)),
        "series": list(Series.objects.values_list("series_uid", flat=True)),
        "instance": list(Instance.objects.values_list("sop_instance_uid", flat=True)),
        # DICOMweb frame lists and bulk data paths: a frame, a list, the pixels and the radiopharmaceutical sequence
        # (which holds the activity); any other value answers no more than these, and all ids would be ~10^5 calls.
        "frames": ["1", "1,2"], "path": ["7FE00010", "00540016"],
        "*": sorted(ints),
    }


# Routes that take an id and could hold something of the session: its own, imaging's and DICOMweb's, the audit
# trail and jobs. Every route without arguments (all lists, of every app) is called too.
RELEVANT = ("reading-", "imaging-", "dicomweb-", "audit-event-", "job-")


def _sweep(user) -> tuple[dict[str, int], list[tuple[str, bytes]]]:  # type: ignore[no-untyped-def]
    """GET every relevant route with every argument combination; the 200 answers by URL."""
    client, values = api_client(user), _candidates()
    reached: dict[str, int] = {}
    answers: list[tuple[str, bytes]] = []
    for name, params in _routes():
        if params and not name.startswith(RELEVANT):
            continue
        for combo in itertools.product(*(values.get(p, values["*"]) for p in params)):
            url = reverse(name, kwargs=dict(zip(params, combo, strict=True)))
            response = client.get(url, {"kind": "curie"})
            if response.status_code == 200:
                reached[name] = reached.get(name, 0) + 1
                answers.append((url, b"".join(response.streaming_content) if response.streaming else response.content))
    return reached, answers


def _leaks(answers: list[tuple[str, bytes]], forbidden: set[str]) -> list[tuple[str, str]]:
    found = []
    for url, body in answers:
        text = body.decode("latin-1")
        found += [(url, word) for word in forbidden if word.lower() in text.lower()]
    return found


def test_a_reader_learns_no_arm_dose_or_other_scores_through_any_endpoint(blinded) -> None:  # type: ignore[no-untyped-def]
    reached, answers = _sweep(blinded["reader"])
    # The reader did reach their own work: the list, the assignment, each case and its images.
    assert {"reading-assignment-list", "reading-assignment-detail", "reading-assignment-case",
            "reading-assignment-case-image"} <= set(reached)
    assert reached["reading-assignment-case"] == 4
    assert _leaks(answers, blinded["forbidden"]) == []
    # Nothing of the session's series through the imaging API or DICOMweb (their hospital is not the reader's).
    assert not any(name.startswith(("imaging-series", "imaging-study", "imaging-preview", "imaging-dose", "dicomweb-series",
                                    "dicomweb-instance")) and name.endswith(("detail", "image", "series", "instance"))
                   for name in reached)
    # Images are pixels only: no PNG text chunks.
    for url, body in answers:
        if "/images/" in url:
            assert body.startswith(b"\x89PNG") and not any(chunk in body for chunk in (b"tEXt", b"iTXt", b"zTXt"))


def test_the_sweep_would_see_a_leak(blinded, actors) -> None:  # type: ignore[no-untyped-def]
    """Positive control: the data manager, who may see everything, is shown the arms and the other reader."""
    _, answers = _sweep(actors.data_manager)
    words = {word for _, word in _leaks(answers, blinded["forbidden"])}
    assert {"low-dose", "standard-dose", "reader2", "Secret session name"} <= words
    assert words & blinded["activities"]  # the dose results show the administered activity


def test_the_case_payload_is_neutral(blinded, client_for) -> None:  # type: ignore[no-untyped-def]
    assignment = blinded["session"].assignments.get(reader=blinded["reader"])
    body = client_for(blinded["reader"]).get(reverse("reading-assignment-detail", args=[assignment.pk])).json()
    assert set(body) == {"id", "instructions", "completed_at", "cases"}
    case = body["cases"][0]
    assert set(case) == {"position", "code", "images", *SCALES, "lesions", "scored_at"}
    assert [c["code"] for c in body["cases"]] == ["Case 01", "Case 02", "Case 03", "Case 04"]
    assert [c["overall_quality"] for c in body["cases"]] == [4, None, None, None]  # only their own scores
