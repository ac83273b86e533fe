"""Reading pages through Django's test client: reading list, score sheets (save, submit, refusals), blinded cases."""
import re

import pytest
from django.urls import reverse

from conftest import Actors
from imaging.reading import rules
from imaging.reading.models import AssignmentCase, ScoreSheet
from imaging.reading.models.sessions import SCALES
from imaging.reading.tests import helpers as h
from imaging.tests.helpers import child


@pytest.fixture
def mibg(actors: Actors):  # type: ignore[no-untyped-def]
    return h.study_of(child(actors.coordinator_a, actors.hospital_a))


def _segments(kind: str, scores: list[int | str]) -> dict[str, str]:
    return {f"seg_{code}": str(score) for code, score in zip(rules.segment_codes(kind), scores, strict=True)}


def test_reading_list_shows_scorable_studies_in_scope_with_pinned_queries(client, actors: Actors, mibg,
                                                                         django_assert_max_num_queries) -> None:
    for _ in range(4):
        h.study_of(child(actors.coordinator_a, actors.hospital_a))
    other = h.study_of(child(actors.coordinator_b, actors.hospital_b))
    h.study_of(mibg.patient, tracer="F18_FDG", modality="PT")  # FDG is not scored on a sheet
    h.submitted(actors.investigator_a, mibg, "curie", 1)
    client.force_login(actors.investigator_a)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("web-reading-list"))
    body = response.content.decode()
    assert body.count('data-testid="studies-to-score"') == 1
    assert reverse("web-score-sheet", args=[mibg.pk, "curie"]) in body and reverse("web-score-sheet", args=[mibg.pk, "siopen"]) in body
    assert reverse("web-score-sheet", args=[other.pk, "curie"]) not in body
    assert "Submitted: 10" in body  # Curie, ten segments at 1
    assert body.count("<tr>") == 1 + 5  # header + five MIBG studies of hospital A


def test_score_sheet_draft_then_refused_submit_keeps_typed_values(client, actors: Actors, mibg) -> None:
    client.force_login(actors.investigator_a)
    url = reverse("web-score-sheet", args=[mibg.pk, "curie"])
    page = client.get(url).content.decode()
    assert 'for="seg_head"' in page and 'id="live-total"' in page
    partial = [2, 1, 0, "", "", "", "", "", "", 3]
    saved = client.post(url, {**_segments("curie", partial), "action": "save", "timepoint": "post_induction"})
    assert saved.status_code == 302
    sheet = ScoreSheet.objects.get()
    assert sheet.status == "draft" and sheet.values == {"head": 2, "cervical_thoracic_spine": 1, "ribs_sternum_scapulae": 0,
                                                        "soft_tissue": 3}
    typed = [2, 1, 1, 0, "", "", "", "", "", 3]
    refused = client.post(url, {**_segments("curie", typed), "action": "submit", "timepoint": "post_induction"})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "missing segment(s) pelvis" in body
    assert '<option value="0" selected>' in body  # lumbar/sacral as typed
    sheet.refresh_from_db()
    assert sheet.status == "draft" and "lumbar_sacral_spine" not in sheet.values  # the refused submit changed nothing


def test_submit_saves_the_service_total_and_flag(client, actors: Actors, mibg) -> None:
    client.force_login(actors.investigator_a)
    url = reverse("web-score-sheet", args=[mibg.pk, "siopen"])
    scores = [1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    response = client.post(url, {**_segments("siopen", scores), "action": "submit", "timepoint": "post_induction"})
    assert response.status_code == 302
    sheet = ScoreSheet.objects.get()
    assert (sheet.status, sheet.total, sheet.flag) == ("submitted", 4, True)
    page = client.get(url).content.decode()
    assert '<span data-testid="saved-total">4</span>' in page and "Above the cut-off" in page
    assert client.post(url, {**_segments("siopen", [0] * 12), "action": "submit"}).status_code == 400


def test_krenning_sheet_scores_lesions(client, actors: Actors) -> None:
    study = h.study_of(child(actors.coordinator_a, actors.hospital_a), tracer="GA68_DOTATATE", modality="PT")
    client.force_login(actors.investigator_a)
    assert client.get(reverse("web-score-sheet", args=[study.pk, "curie"])).status_code == 404  # wrong system
    url = reverse("web-score-sheet", args=[study.pk, "krenning"])
    form = {"site_0": "liver segment 7", "score_0": "3", "site_1": "left adrenal", "score_1": "4", "site_2": "", "score_2": "",
            "site_3": "", "score_3": "", "site_4": "", "score_4": "", "action": "submit"}
    assert client.post(url, form).status_code == 302
    assert ScoreSheet.objects.get().total == 4


def test_score_sheet_scope_and_roles(client, actors: Actors, mibg) -> None:
    url = reverse("web-score-sheet", args=[mibg.pk, "curie"])
    client.force_login(actors.coordinator_b)
    assert client.get(url).status_code == 404
    assert client.post(url, {**_segments("curie", [0] * 10), "action": "submit"}).status_code == 404
    client.force_login(actors.coordinator_a)  # sees the study, may not score it
    page = client.get(url)
    assert page.status_code == 200 and "does not allow scoring" in page.content.decode()
    refused = client.post(url, {**_segments("curie", [0] * 10), "action": "submit"})
    assert refused.status_code == 400 and "Your role does not allow scoring studies." in refused.content.decode()
    assert not ScoreSheet.objects.exists()


@pytest.fixture
def session(actors: Actors):  # type: ignore[no-untyped-def]
    patients = [h.patient_at(actors.coordinator_b, actors.hospital_b) for _ in range(2)]
    return h.paired_session(actors.data_manager, [actors.investigator_a], patients, name="Secret session name")


def test_blinded_case_page_hides_arm_series_and_session(client, actors: Actors, session) -> None:
    assignment = session.assignments.get(reader=actors.investigator_a)
    client.force_login(actors.investigator_a)
    listing = client.get(reverse("web-reading-list")).content.decode()
    assert reverse("web-reading-assignment", args=[assignment.pk]) in listing and "0 of 4 cases scored" in listing
    pages = [client.get(reverse("web-reading-assignment", args=[assignment.pk])).content.decode(),
             client.get(reverse("web-reading-case", args=[assignment.pk, 1])).content.decode(), listing]
    items = list(session.items.select_related("series"))
    forbidden = {"low-dose", "standard-dose", "LOW DOSE", "Secret session name", "PET WB FDG",
                 *(i.series.series_uid for i in items), *(i.series.study.study_uid for i in items)}
    # UIDs as whole values: the case page's viewer carries pseudonymous UIDs (2.25.<39 digits>), which may begin with
    # a short real UID such as "2.25.1" without being it.
    uids = {i.series.series_uid for i in items} | {i.series.study.study_uid for i in items}
    for body in pages:
        assert not [word for word in forbidden - uids if word in body]
        assert not [uid for uid in uids if re.search(rf"(?<![\d.]){re.escape(uid)}(?![\d.])", body)]
    # The case page shows the viewer (fed by the case's own DICOMweb root) in place of the small previews.
    assert 'id="viewer-config"' in pages[1]
    image = client.get(reverse("web-reading-case-image", args=[assignment.pk, 1, 0]))
    assert image.status_code == 200 and image["Cache-Control"] == "private, no-store"


def test_case_scores_saved_and_refusals_keep_input(client, actors: Actors, session) -> None:
    assignment = session.assignments.get(reader=actors.investigator_a)
    url = reverse("web-reading-case", args=[assignment.pk, 1])
    client.force_login(actors.investigator_a)
    missing = client.post(url, {"overall_quality": "4", "noise": "3", "lesion_conspicuity": "", "diagnostic_confidence": "5"})
    assert missing.status_code == 400
    assert '<option value="3" selected>' in missing.content.decode()
    done = client.post(url, dict.fromkeys(SCALES, "4"))
    assert done.status_code == 302 and done["Location"] == reverse("web-reading-case", args=[assignment.pk, 2])
    case = AssignmentCase.objects.get(assignment=assignment, position=1)
    assert [getattr(case, s) for s in SCALES] == [4, 4, 4, 4]


def test_other_readers_and_data_managers_cannot_open_an_assignment(client, actors: Actors, session) -> None:
    assignment = session.assignments.get(reader=actors.investigator_a)
    for user in (actors.data_manager, actors.coordinator_b, actors.investigator_a):
        client.force_login(user)
        status = client.get(reverse("web-reading-case", args=[assignment.pk, 1])).status_code
        assert status == (200 if user == actors.investigator_a else 404)
