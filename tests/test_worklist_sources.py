"""The worklist sources of imaging, reading and safety: who sees which item, items leave when done, no identifier in
titles, and one query per group whatever the number of items (none for users the group does not concern)."""
from datetime import date

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import PASSWORD, Actors
from imaging.models import ImagingStudy
from imaging.reading.models import ScoreSheet
from imaging.reading.services.sessions import assignment_case_score
from imaging.reading.services.sheets import score_sheet_create
from imaging.reading.tests import helpers as reading
from imaging.reading.worklist import mibg_to_score, reading_cases, score_sheet_drafts
from imaging.worklist import uploads_on_hold
from registry.selectors import worklist
from trials.oversight.models import Signature
from trials.oversight.services.signatures import signature_sign
from trials.safety.services.events import adverse_event_follow_up, adverse_event_report
from trials.safety.tests.helpers import grant, make_subject, make_trial
from trials.safety.worklist import ae_to_assess

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 10)


def kinds(user, kind: str):  # type: ignore[no-untyped-def]
    return [i for i in worklist(user=user, on=TODAY) if i.kind == kind]


def queries(group, user) -> int:  # type: ignore[no-untyped-def]
    """Queries to build a group and read all its rows (the worklist reads only a page: tests/test_worklist_paging.py)."""
    with CaptureQueriesContext(connection) as ctx:
        listing = group(user, TODAY)
        if listing is not None:
            list(listing.rows)
    return len(ctx.captured_queries)


def test_held_uploads_for_the_hospitals_coordinators_only(actors: Actors) -> None:
    patient = reading.patient_at(actors.coordinator_a, actors.hospital_a)
    held = [reading.study_of(patient) for _ in range(3)]
    ImagingStudy.objects.filter(pk__in=[s.pk for s in held[:2]]).update(status=ImagingStudy.Status.ON_HOLD)
    items = kinds(actors.coordinator_a, "upload_on_hold")
    assert sorted(i.link for i in items) == sorted(f"/api/v1/imaging/studies/{s.pk}/" for s in held[:2])
    assert {i.study_id for i in items} == {patient.study_id} and all(patient.study_id not in i.title for i in items)
    for outsider in (actors.coordinator_b, actors.investigator_a, actors.sponsor, actors.nobody):
        assert kinds(outsider, "upload_on_hold") == []
    assert queries(uploads_on_hold, actors.sponsor) == 0  # no role, no query
    ImagingStudy.objects.filter(pk=held[2].pk).update(status=ImagingStudy.Status.ON_HOLD)
    assert queries(uploads_on_hold, actors.coordinator_a) == 1 and len(kinds(actors.coordinator_a, "upload_on_hold")) == 3


def test_mibg_studies_to_score_until_someone_submits(actors: Actors) -> None:
    patient = reading.patient_at(actors.coordinator_a, actors.hospital_a)
    mibg, scored = reading.study_of(patient), reading.study_of(patient)
    reading.study_of(patient, tracer="F18_FDG", modality="PT")  # not an MIBG study
    other = reading.investigator(actors.hospital_a, "reader2")
    reading.submitted(other, scored, "curie", 1)
    items = kinds(actors.investigator_a, "mibg_to_score")
    assert [i.link for i in items] == [f"/api/v1/imaging/studies/{mibg.pk}/"]
    assert patient.study_id not in items[0].title and items[0].study_id == ""
    for outsider in (actors.coordinator_b, actors.coordinator_a, actors.sponsor):
        assert kinds(outsider, "mibg_to_score") == []
    assert queries(mibg_to_score, actors.investigator_a) == 1 and queries(mibg_to_score, actors.coordinator_a) == 0


def test_central_readers_see_their_trials_mibg_studies_they_have_not_read(actors: Actors) -> None:
    trial = make_trial()
    subject = make_subject(actors.coordinator_a, actors.hospital_a, trial)
    study = reading.study_of(subject.patient)
    assert kinds(actors.central_reader, "mibg_to_score") == []
    grant(actors.central_reader, trial, "central_reader")
    assert [i.link for i in kinds(actors.central_reader, "mibg_to_score")] == [f"/api/v1/imaging/studies/{study.pk}/"]


def test_draft_sheets_and_blinded_cases_left_to_read(actors: Actors) -> None:
    patient = reading.patient_at(actors.coordinator_a, actors.hospital_a)
    study = reading.study_of(patient)
    score_sheet_create(actor=actors.investigator_a, study=study, kind="curie", values={})
    drafts = kinds(actors.investigator_a, "sheet_draft")
    assert len(drafts) == 1 and "/reading/sheets/" in drafts[0].link
    assert kinds(reading.investigator(actors.hospital_a, "reader2"), "sheet_draft") == []  # a draft is its reader's alone
    ScoreSheet.objects.update(status=ScoreSheet.Status.SUBMITTED, submitted_at=study.created_at)
    assert kinds(actors.investigator_a, "sheet_draft") == []

    patients = [reading.patient_at(actors.coordinator_b, actors.hospital_b) for _ in range(2)]
    session = reading.paired_session(actors.data_manager, [actors.investigator_a], patients, name="low-dose arm vs standard")
    items = kinds(actors.investigator_a, "reading_cases")
    assert len(items) == 1 and "4 case" in items[0].title and "low-dose" not in items[0].title  # no arm, no session name
    assert kinds(actors.coordinator_a, "reading_cases") == [] and queries(reading_cases, actors.coordinator_a) == 0
    assignment = session.assignments.get()
    for case in assignment.cases.all():
        assignment_case_score(actor=actors.investigator_a, case=case, scores=_scales(3))
    assert kinds(actors.investigator_a, "reading_cases") == []
    assert queries(score_sheet_drafts, actors.investigator_a) == 1


def _scales(score: int) -> dict[str, int]:
    from imaging.reading.models.sessions import SCALES

    return dict.fromkeys(SCALES, score)


def _report(actors: Actors, subject):  # type: ignore[no-untyped-def]
    return adverse_event_report(actor=actors.coordinator_a, subject=subject, today=TODAY, data={
        "meddra_code": "10002272", "onset_date": date(2026, 3, 1), "grade": 2, "relatedness": "possible",
        "expectedness": "expected", "action_taken": "not_applicable", "outcome": "recovering"})


def test_adverse_events_await_the_investigators_signature_and_again_after_a_follow_up(actors: Actors) -> None:
    trial = make_trial()
    grant(actors.sponsor, trial, "sponsor")
    subjects = [make_subject(actors.coordinator_a, actors.hospital_a, trial) for _ in range(3)]
    events = [_report(actors, s) for s in subjects]
    items = kinds(actors.investigator_a, "ae_to_sign")
    assert len(items) == 3 and {s.subject_number for s in subjects} == {i.title.split("subject ")[1].split(" ")[0] for i in items}
    assert all(s.patient.study_id not in i.title for s in subjects for i in items)
    for outsider in (actors.coordinator_a, actors.sponsor, actors.coordinator_b, actors.nobody):
        assert kinds(outsider, "ae_to_sign") == []
    assert queries(ae_to_assess, actors.investigator_a) == 1 and queries(ae_to_assess, actors.sponsor) == 0

    signature_sign(actor=actors.investigator_a, content_type=ContentType.objects.get_for_model(events[0]), object_id=events[0].pk,
                   meaning=Signature.Meaning.ASSESSED, password=PASSWORD)
    assert len(kinds(actors.investigator_a, "ae_to_sign")) == 2
    adverse_event_follow_up(actor=actors.coordinator_a, event=events[0], data={"grade": 3}, reason="lab result", today=TODAY)
    again = [i for i in kinds(actors.investigator_a, "ae_to_sign") if "sign again" in i.title]
    assert len(again) == 1 and again[0].link == f"/api/v1/safety/adverse-events/{events[0].pk}/"
