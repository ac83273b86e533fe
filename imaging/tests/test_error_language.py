"""Imaging and reading refusals speak the request's language: the same code, the message in Chinese for a zh-Hans
request and in English otherwise (the API's detail and field messages). What is stored (a SUV result's reason, a
release reason) stays English whoever triggered it."""

import pytest
from django.urls import reverse
from django.utils import translation

from conftest import ZH, Actors, api_client, refused_in_both_languages
from imaging.models import ImagingStudy, Series, SuvResult, VoiMeasurement
from imaging.reading import rules
from imaging.reading.models.sessions import SCALES
from imaging.reading.services.sessions import assignment_case_score
from imaging.reading.services.sheets import score_sheet_create
from imaging.reading.tests import helpers as h
from imaging.services.voi import voi_measure
from registry.errors import ApplicationError
from registry.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

GOOD = dict.fromkeys(SCALES, 4)
VOI_URL = "/api/v1/imaging/vois/"



@pytest.fixture
def study(actors: Actors) -> ImagingStudy:
    return h.study_of(h.patient_at(actors.coordinator_a, actors.hospital_a))


def test_submitting_an_incomplete_score_sheet(actors: Actors, study: ImagingStudy) -> None:
    client = api_client(actors.investigator_a)
    created = client.post(reverse("reading-sheet-list"), {"study": study.pk, "kind": "curie", "values": {"head": 2}},
                          format="json")
    assert created.status_code == 201
    english, chinese = refused_in_both_languages(client, reverse("reading-sheet-submit", args=[created.json()["id"]]))
    missing = ", ".join(code for code in rules.segment_codes("curie") if code != "head")
    assert english["code"] == chinese["code"] == "invalid"
    assert english["detail"] == f"Curie score: missing segment(s) {missing}"
    assert english["fields"] == {"values": [english["detail"]]}
    assert chinese["detail"] == f"Curie 评分：缺少节段 {missing}"
    assert chinese["fields"] == {"values": [chinese["detail"]]}


def test_an_out_of_range_segment_score(actors: Actors, study: ImagingStudy) -> None:
    english, chinese = refused_in_both_languages(api_client(actors.investigator_a), reverse("reading-sheet-list"),
                                                 {"study": study.pk, "kind": "curie", "values": {"head": 4}})
    assert english["detail"] == "Curie score, segment head: score 4 is out of range 0-3"
    assert chinese["detail"] == "Curie 评分，节段 head：评分 4 超出范围 0-3"


def test_a_reader_scoring_a_study_twice(actors: Actors, study: ImagingStudy) -> None:
    score_sheet_create(actor=actors.investigator_a, study=study, kind="curie")
    english, chinese = refused_in_both_languages(api_client(actors.investigator_a), reverse("reading-sheet-list"),
                                                 {"study": study.pk, "kind": "curie"})
    assert english["code"] == chinese["code"] == "duplicate"
    assert english["detail"] == "This study already has your read under Curie (123I-MIBG)."
    assert chinese["detail"] == "Curie 评分（123I-MIBG）：您已阅过该检查。"


def test_a_consensus_read_needs_two_submitted_reads(actors: Actors, study: ImagingStudy) -> None:
    english, chinese = refused_in_both_languages(api_client(actors.data_manager), reverse("reading-sheet-consensus"),
                                                 {"study": study.pk, "kind": "curie"})
    assert english["code"] == chinese["code"] == "too_few_reads"
    assert english["detail"] == "A consensus read needs at least 2 submitted reads (this study has 0)."
    assert chinese["detail"] == "共识阅片至少需要 2 份已提交的阅片（该检查有 0 份）。"


@pytest.fixture
def session(actors: Actors):  # type: ignore[no-untyped-def]
    """A blinded session on one hospital-B patient, read by two hospital-A investigators."""
    patient = h.patient_at(actors.coordinator_b, actors.hospital_b)
    return h.paired_session(actors.data_manager, [actors.investigator_a, h.investigator(actors.hospital_a, "reader2")],
                            [patient])


def test_a_reader_scoring_a_case_outside_their_reading_list(actors: Actors, session) -> None:  # type: ignore[no-untyped-def]
    theirs = session.assignments.exclude(reader=actors.investigator_a).get().cases.first()
    messages = {}
    for language in ("en", "zh-hans"):
        with translation.override(language), pytest.raises(ApplicationError) as refused:
            assignment_case_score(actor=actors.investigator_a, case=theirs, scores=GOOD)
        assert refused.value.code == "out_of_scope"
        messages[language] = refused.value.message
    assert messages == {"en": "This case is not in your reading list.", "zh-hans": "此病例不在您的阅片列表中。"}


def test_a_reader_who_can_now_see_the_series_is_no_longer_blind(actors: Actors, session) -> None:  # type: ignore[no-untyped-def]
    assignment = session.assignments.get(reader=actors.investigator_a)
    MembershipFactory(user=actors.investigator_a, hospital=actors.hospital_b, role="investigator")
    english, chinese = refused_in_both_languages(api_client(actors.investigator_a),
                                                 reverse("reading-assignment-case", args=[assignment.pk, 1]), GOOD, method="put")
    assert english["code"] == chinese["code"] == "reader_not_blind"
    assert english["detail"].startswith("You can now open these series through the imaging pages")
    assert chinese["detail"] == ("您现在可以通过影像页面打开这些序列，您的阅片将不再是盲法阅片；"
                                 "请联系数据管理员重新分配您的病例。")


def test_scores_after_every_read_is_in(actors: Actors, session) -> None:  # type: ignore[no-untyped-def]
    h.score_all(session, lambda reader, item: GOOD)
    assignment = session.assignments.get(reader=actors.investigator_a)
    english, chinese = refused_in_both_languages(api_client(actors.investigator_a),
                                                 reverse("reading-assignment-case", args=[assignment.pk, 1]), GOOD, method="put")
    assert english["code"] == chinese["code"] == "session_complete"
    assert english["detail"] == "Every read of this session is in; scores can no longer change."
    assert chinese["detail"] == "本会话的阅片已全部完成，评分不能再更改。"


@pytest.fixture
def pet_series(actors: Actors) -> Series:
    """A PET series row with a stored SUV result (no pixels: the refusals below come before the volume is read)."""
    study = h.study_of(h.patient_at(actors.coordinator_a, actors.hospital_a), tracer="F18_FDG", modality="PT")
    series = study.series.get()
    SuvResult.objects.create(series=series, quantifiable=True, suv_bw_factor=0.001, units="BQML")
    return series


def test_a_voi_with_an_invalid_radius(actors: Actors, pet_series: Series) -> None:
    client = api_client(actors.coordinator_a)
    body = {"series": pet_series.pk, "shape": "sphere", "centre_mm": [0, 0, 0]}
    english, chinese = refused_in_both_languages(client, VOI_URL, body)
    assert english["fields"] == {"radius_mm": ["A sphere needs radius_mm."]}
    assert chinese["fields"] == {"radius_mm": ["球形需要 radius_mm。"]}
    english, chinese = refused_in_both_languages(client, VOI_URL, {**body, "radius_mm": 0})  # the serializer's bound (DRF's catalogue)
    assert english["fields"] == {"radius_mm": ["Ensure this value is greater than or equal to 0.5."]}
    assert chinese["fields"]["radius_mm"] != english["fields"]["radius_mm"]
    # The service's own check (callers other than the API): a radius that is not a positive number of mm.
    messages = {}
    for language in ("en", "zh-hans"):
        with translation.override(language), pytest.raises(ApplicationError) as refused:
            voi_measure(actor=actors.coordinator_a, series=pet_series, shape="sphere", centre_mm=[0, 0, 0], radius_mm=-5)
        assert refused.value.code == "invalid"
        messages[language] = refused.value.fields
    assert messages == {"en": {"radius_mm": ["The radius must be a positive number of mm."]},
                        "zh-hans": {"radius_mm": ["半径必须为正数（mm）。"]}}
    assert not VoiMeasurement.objects.exists()


def test_a_voi_on_an_unquantifiable_series_keeps_the_stored_reason_english(actors: Actors, pet_series: Series) -> None:
    SuvResult.objects.filter(series=pet_series).update(quantifiable=False, suv_bw_factor=None,
                                                       not_quantifiable_reason="The series has no published images.")
    english, chinese = refused_in_both_languages(api_client(actors.coordinator_a), VOI_URL,
                                                 {"series": pet_series.pk, "shape": "sphere", "centre_mm": [0, 0, 0], "radius_mm": 10})
    assert english["code"] == chinese["code"] == "not_quantifiable"
    assert english["detail"] == "This series cannot be quantified: The series has no published images."
    assert chinese["detail"] == "该序列无法定量：The series has no published images."
    assert SuvResult.objects.get(series=pet_series).not_quantifiable_reason == "The series has no published images."


def test_releasing_a_study_that_is_not_on_hold(actors: Actors, study: ImagingStudy) -> None:
    english, chinese = refused_in_both_languages(api_client(actors.investigator_a), reverse("imaging-study-release", args=[study.pk]),
                                                 {"reason": "checked against the ward list"})
    assert english["code"] == chinese["code"] == "invalid_transition"
    assert english["detail"] == "Only a study on hold can be released (this one is ready)."
    assert chinese["detail"] == "只有已暂停的检查才能放行（该检查状态为：就绪）。"
    assert study.patient.study_id not in english["detail"] + chinese["detail"]


def test_without_a_language_header_the_refusal_is_english_after_a_chinese_one(actors: Actors, study: ImagingStudy) -> None:
    client = api_client(actors.investigator_a)
    url = reverse("reading-sheet-list")
    body = {"study": study.pk, "kind": "curie", "values": [1, 2]}
    assert client.post(url, body, format="json", **ZH).json()["detail"] == "values 必须为 JSON 对象。"
    assert client.post(url, body, format="json").json()["detail"] == "Values must be an object."
