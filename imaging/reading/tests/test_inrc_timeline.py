"""The patient's score timeline shows the INRC 2017 MIBG bone component (nucmed.response) beside the totals.

Park JR et al., J Clin Oncol 2017;35(22):2580-2587: relative MIBG score = bone score now / bone score at baseline;
a new MIBG-avid bone site or a relative score >= 1.2 is progressive disease; >= 50 % reduction is a partial response.
"""
from datetime import date

import pytest
from django.urls import reverse

from imaging.reading.tests import helpers as h


def _points(client, patient, kind: str = "curie"):  # type: ignore[no-untyped-def]
    return client.get(reverse("reading-patient-timeline", args=[patient.study_id]), {"kind": kind}).json()["points"]


def test_timeline_calls_progression_on_relative_bone_score(actors, client_for) -> None:  # type: ignore[no-untyped-def]
    """Curie bone score 5 at baseline, 6 later (relative 1.2, no new segment): PD; the soft-tissue segment is not bone."""
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2020, 9, 20)), "curie", [2, 2, 1, 0, 0, 0, 0, 0, 0, 3])
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2021, 2, 20)), "curie", [1, 2, 1, 0, 0, 0, 0, 0, 0, 0])
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2021, 6, 20)), "curie", [3, 2, 1, 0, 0, 0, 0, 0, 0, 0])
    points = _points(client_for(actors.monitor_a), patient)
    assert points[0]["inrc_mibg_bone"] is None  # the baseline itself
    after, later = points[1]["inrc_mibg_bone"], points[2]["inrc_mibg_bone"]
    assert (after["baseline_bone_score"], after["bone_score"], after["category"]) == (5, 4, "SD")
    assert later["relative_bone_score"] == pytest.approx(1.2) and later["category"] == "PD"
    assert later["new_bone_segments"] == [] and "2580-2587" in later["source"]


def test_timeline_calls_progression_on_a_new_bone_site(actors, client_for) -> None:  # type: ignore[no-untyped-def]
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    scores = dict.fromkeys(h.values("siopen", 0), 0)
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2020, 9, 20)), "siopen", {**scores, "skull": 6, "spine": 6})
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2021, 2, 20)), "siopen", {**scores, "skull": 1, "pelvis": 1})
    point = _points(client_for(actors.investigator_a), patient, "siopen")[1]
    assert point["response"] is True  # the total fell by 83 %: the older response call alone would miss the new site
    assert point["inrc_mibg_bone"]["category"] == "PD" and point["inrc_mibg_bone"]["new_bone_segments"] == ["pelvis"]


def test_timeline_without_agreed_segments_is_not_assessable(actors, client_for) -> None:  # type: ignore[no-untyped-def]
    reader2 = h.investigator(actors.hospital_a, "reader2")
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2020, 9, 20)), "curie", [3, 3, 0, 0, 0, 0, 0, 0, 0, 0])
    later = h.study_of(patient, on=date(2021, 2, 20))
    h.submitted(actors.investigator_a, later, "curie", [1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    h.submitted(reader2, later, "curie", [0, 1, 0, 0, 0, 0, 0, 0, 0, 0])  # same total, different segments
    point = _points(client_for(actors.investigator_a), patient)[1]
    assert point["total"] == 1 and point["inrc_mibg_bone"]["category"] is None
    assert "agreed segment scores" in point["inrc_mibg_bone"]["not_assessable_reason"]
