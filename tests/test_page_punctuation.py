"""Punctuation after formatted times (issue 17: "a.m.." on a submitted score sheet): English short times end in
"a.m."/"p.m.", so no full stop follows a formatted time on the pages."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from conftest import Actors
from imaging.reading.models import ScoreSheet
from imaging.reading.tests import helpers as h
from imaging.tests.helpers import child

pytestmark = pytest.mark.django_db


def test_a_submitted_score_sheet_shows_its_time_without_a_double_full_stop(client, actors: Actors) -> None:
    study = h.study_of(child(actors.coordinator_a, actors.hospital_a))
    h.submitted(actors.investigator_a, study, "curie", 1)
    # A morning time, so English shows "a.m.".
    ScoreSheet.objects.filter(study=study).update(submitted_at=datetime(2026, 11, 2, 1, 30, tzinfo=ZoneInfo("UTC")))
    client.force_login(actors.investigator_a)
    body = client.get(reverse("web-score-sheet", args=[study.pk, "curie"])).content.decode()
    assert "a.m." in body and "a.m.." not in body and ".;" not in body
