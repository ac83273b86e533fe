"""Score sheets: totals and flags computed on submit, validation, private drafts, consensus, audit."""
from datetime import date

import pytest
from django.urls import reverse

from imaging.reading.models import ScoreSheet
from imaging.reading.services.sheets import (
    consensus_sheet_create,
    score_sheet_create,
    score_sheet_submit,
    score_sheet_update,
)
from imaging.reading.tests import helpers as h
from registry.errors import ApplicationError
from registry.models import AuditEvent
from trials.services.setup import trial_membership_grant
from trials.tests.builders import enrol, quick_trial

CURIE_10 = [3, 0, 2, 0, 1, 0, 0, 2, 1, 1]  # total 10
SIOPEN_12 = [6, 4, 5, 0, 1, 2, 0, 0, 3, 3, 0, 0]  # total 24


@pytest.fixture
def world(actors):  # type: ignore[no-untyped-def]
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    return {"patient": patient, "study": h.study_of(patient), "reader2": h.investigator(actors.hospital_a, "reader2"),
            "reader3": h.investigator(actors.hospital_a, "reader3")}


def test_totals_are_computed_from_the_segments(actors, world) -> None:  # type: ignore[no-untyped-def]
    curie = h.submitted(actors.investigator_a, world["study"], "curie", CURIE_10)
    siopen = h.submitted(actors.investigator_a, world["study"], "siopen", SIOPEN_12)
    assert (curie.total, siopen.total) == (sum(CURIE_10), sum(SIOPEN_12)) == (10, 24)
    assert curie.status == "submitted" and curie.submitted_at is not None
    maximum = h.submitted(world["reader2"], world["study"], "curie", 3)
    assert maximum.total == 30


def test_a_typed_total_is_ignored_or_refused(actors, world, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(actors.investigator_a)
    body = {"study": world["study"].pk, "kind": "curie", "values": h.values("curie", CURIE_10), "total": 29, "flag": False}
    created = client.post(reverse("reading-sheet-list"), body, format="json")
    assert created.status_code == 201 and created.json()["total"] is None
    submitted = client.post(reverse("reading-sheet-submit", args=[created.json()["id"]]))
    assert submitted.json()["total"] == 10
    inside = client.post(reverse("reading-sheet-list"), {"study": world["study"].pk, "kind": "siopen",
                                                         "values": {**h.values("siopen", 0), "total": 3}}, format="json")
    assert inside.status_code == 400 and "unknown segment" in inside.json()["detail"]


@pytest.mark.parametrize(("kind", "scores", "flag"), [
    ("curie", [1, 1, 0, 0, 0, 0, 0, 0, 0, 0], False),  # 2: not above the cut-off
    ("curie", [1, 1, 1, 0, 0, 0, 0, 0, 0, 0], True),  # 3 > 2
    ("siopen", [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], False),  # 3: not above
    ("siopen", [3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], True),  # 4 > 3
])
def test_flags_after_induction(actors, world, kind, scores, flag) -> None:  # type: ignore[no-untyped-def]
    after = h.study_of(world["patient"], on=date(2021, 2, 1))
    assert h.submitted(actors.investigator_a, after, kind, scores, "post_induction").flag is flag
    # The cut-offs are prognostic after induction only: no flag at baseline.
    assert h.submitted(actors.investigator_a, world["study"], kind, scores, "baseline").flag is None


def test_krenning_is_the_highest_lesion_score(actors) -> None:  # type: ignore[no-untyped-def]
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    pet = h.study_of(patient, tracer="GA68_DOTATATE", modality="PT")
    lesions = {"lesions": [{"site": "liver segment 7", "score": 3}, {"site": "L2 vertebra", "score": 4},
                           {"site": "left adrenal", "score": 1}]}
    sheet = h.submitted(actors.investigator_a, pet, "krenning", lesions)
    assert (sheet.total, sheet.flag) == (4, None)
    with pytest.raises(ApplicationError, match="out of range"):
        score_sheet_create(actor=h.investigator(actors.hospital_a, "r9"), study=pet, kind="krenning",
                           values={"lesions": [{"site": "liver", "score": 5}]})
    with pytest.raises(ApplicationError, match="tracer"):
        score_sheet_create(actor=actors.investigator_a, study=pet, kind="curie")


@pytest.mark.parametrize(("values", "message"), [
    ({"head": 4}, "out of range"),
    ({"head": True}, "integer"),
    ({"knee": 1}, "unknown segment"),
    ([1, 2], "object"),
])
def test_bad_values_are_refused_with_the_field(actors, world, values, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ApplicationError, match=message) as error:
        score_sheet_create(actor=actors.investigator_a, study=world["study"], kind="curie", values=values)
    assert "values" in error.value.fields
    assert not ScoreSheet.objects.exists()


def test_submit_needs_every_segment_and_leaves_the_draft_intact(actors, world) -> None:  # type: ignore[no-untyped-def]
    sheet = score_sheet_create(actor=actors.investigator_a, study=world["study"], kind="curie", values={"head": 2})
    with pytest.raises(ApplicationError, match="missing segment"):
        score_sheet_submit(actor=actors.investigator_a, sheet=sheet)
    sheet.refresh_from_db()
    assert (sheet.status, sheet.total, sheet.values) == ("draft", None, {"head": 2})
    sheet = score_sheet_update(actor=actors.investigator_a, sheet=sheet, values={**h.values("curie", 1), "head": None})
    assert "head" not in sheet.values
    sheet = score_sheet_update(actor=actors.investigator_a, sheet=sheet, values={"head": 0})
    assert score_sheet_submit(actor=actors.investigator_a, sheet=sheet).total == 9
    with pytest.raises(ApplicationError, match="submitted"):
        score_sheet_update(actor=actors.investigator_a, sheet=sheet, comment="late change")


def test_one_read_per_reader_study_and_system(actors, world) -> None:  # type: ignore[no-untyped-def]
    score_sheet_create(actor=actors.investigator_a, study=world["study"], kind="curie")
    with pytest.raises(ApplicationError) as error:
        score_sheet_create(actor=actors.investigator_a, study=world["study"], kind="curie")
    assert error.value.code == "duplicate"
    score_sheet_create(actor=actors.investigator_a, study=world["study"], kind="siopen")  # another system is fine


def test_only_the_author_changes_a_draft(actors, world, client_for) -> None:  # type: ignore[no-untyped-def]
    sheet = score_sheet_create(actor=actors.investigator_a, study=world["study"], kind="curie")
    with pytest.raises(ApplicationError):
        score_sheet_update(actor=world["reader2"], sheet=sheet, comment="not mine")
    response = client_for(world["reader2"]).patch(reverse("reading-sheet-detail", args=[sheet.pk]), {"comment": "x"},
                                                  format="json")
    assert response.status_code == 404  # a draft is its reader's alone


def test_a_reader_with_a_draft_does_not_see_the_other_reads(actors, world, client_for) -> None:  # type: ignore[no-untyped-def]
    first = h.submitted(actors.investigator_a, world["study"], "curie", CURIE_10)
    client = client_for(world["reader2"])
    assert [s["id"] for s in client.get(reverse("reading-sheet-list")).json()["results"]] == [first.pk]
    draft = score_sheet_create(actor=world["reader2"], study=world["study"], kind="curie")
    listed = [s["id"] for s in client.get(reverse("reading-sheet-list")).json()["results"]]
    assert listed == [draft.pk]
    assert client.get(reverse("reading-sheet-detail", args=[first.pk])).status_code == 404
    assert client.get(reverse("reading-study-agreement", args=[world["study"].pk]), {"kind": "curie"}).json()["readers"] == []
    score_sheet_update(actor=world["reader2"], sheet=draft, values=h.values("curie", 1))
    score_sheet_submit(actor=world["reader2"], sheet=draft)
    listed = {s["id"] for s in client.get(reverse("reading-sheet-list")).json()["results"]}
    assert listed == {first.pk, draft.pk}


def test_consensus_after_two_reads_by_an_independent_adjudicator(actors, world) -> None:  # type: ignore[no-untyped-def]
    study = world["study"]
    h.submitted(actors.investigator_a, study, "curie", CURIE_10)
    with pytest.raises(ApplicationError) as error:
        consensus_sheet_create(actor=actors.data_manager, study=study, kind="curie")
    assert error.value.code == "too_few_reads"
    h.submitted(world["reader2"], study, "curie", [3, 0, 2, 0, 1, 0, 1, 2, 1, 1])
    with pytest.raises(ApplicationError) as error:
        consensus_sheet_create(actor=world["reader2"], study=study, kind="curie")
    assert error.value.code == "not_independent"
    consensus = consensus_sheet_create(actor=world["reader3"], study=study, kind="curie", values=h.values("curie", CURIE_10))
    assert score_sheet_submit(actor=world["reader3"], sheet=consensus).total == 10
    assert consensus.role == "consensus"
    with pytest.raises(ApplicationError) as error:
        consensus_sheet_create(actor=actors.data_manager, study=study, kind="curie")
    assert error.value.code == "duplicate"


def test_submit_is_audited_with_the_computed_total(actors, world) -> None:  # type: ignore[no-untyped-def]
    sheet = h.submitted(actors.investigator_a, world["study"], "curie", CURIE_10)
    event = AuditEvent.objects.filter(action="submit", object_type="reading.scoresheet", object_id=str(sheet.pk)).get()
    assert event.after["total"] == 10 and event.before["total"] is None
    assert event.actor == actors.investigator_a and event.hospital_id == actors.hospital_a.pk


def test_scoring_systems_serve_the_nucmed_definitions(actors, client_for) -> None:  # type: ignore[no-untyped-def]
    systems = {s["kind"]: s for s in client_for(actors.monitor_a).get(reverse("reading-scoring-systems")).json()}
    assert len(systems["curie"]["segments"]) == 10 and systems["curie"]["max_total"] == 30
    assert len(systems["siopen"]["segments"]) == 12 and systems["siopen"]["max_total"] == 72
    assert (systems["curie"]["flag_above"], systems["siopen"]["flag_above"]) == (2, 3)
    assert systems["krenning"]["max_per_segment"] == 4


def test_sheet_list_query_count(actors, world, client_for, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for n in range(6):
        study = h.study_of(world["patient"], on=date(2021, 1, 1 + n))
        h.submitted(actors.investigator_a, study, "curie", 1)
        h.submitted(world["reader2"], study, "curie", 2)
    client = client_for(actors.monitor_a)
    with django_assert_max_num_queries(10):  # session, user, scope (2), count, page
        response = client.get(reverse("reading-sheet-list"))
    assert response.json()["count"] == 12


def test_central_readers_score_trial_studies_without_seeing_registry_ids(actors, client_for) -> None:  # type: ignore[no-untyped-def]
    trial = quick_trial([actors.hospital_a], code="T-R", agent_code="I123_MIBG")
    subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    trial_membership_grant(actor=actors.data_manager, user=actors.central_reader, trial=trial, role="central_reader")
    study = h.study_of(subject.patient)
    other = h.study_of(h.patient_at(actors.coordinator_a, actors.hospital_a))  # not in the trial
    client = client_for(actors.central_reader)
    created = client.post(reverse("reading-sheet-list"), {"study": study.pk, "kind": "curie", "values": h.values("curie", 1)},
                          format="json")
    assert created.status_code == 201 and created.json()["patient"] is None
    assert client.post(reverse("reading-sheet-submit", args=[created.json()["id"]])).json()["total"] == 10
    refused = client.post(reverse("reading-sheet-list"), {"study": other.pk, "kind": "curie"}, format="json")
    assert refused.status_code == 400 and "study" in refused.json()["fields"]
    seen = client_for(actors.investigator_a).get(reverse("reading-sheet-detail", args=[created.json()["id"]])).json()
    assert seen["patient"] == subject.patient.study_id and seen["reader"] == "central_reader"
    assert client.get(reverse("reading-patient-timeline", args=[subject.patient.study_id]), {"kind": "curie"}).status_code == 404
