"""Score sheet body diagram (Curie, SIOPEN): one region per segment of nucmed's scheme, coloured by the saved score."""
import re

import pytest
from django.urls import reverse

from conftest import Actors
from imaging.reading.models import ScoreSheet
from imaging.reading.tests import helpers as h
from imaging.reading.web import body_diagram
from imaging.tests.helpers import child
from nucmed import scoring


@pytest.fixture
def mibg(actors: Actors):  # type: ignore[no-untyped-def]
    return h.study_of(child(actors.coordinator_a, actors.hospital_a))


def _regions(body: str) -> dict[str, tuple[str, str, str]]:
    """segment code -> (data-score, fill, title) of each diagram region in the page."""
    found = re.findall(r'<g class="region" data-segment="([^"]+)" data-score="([^"]*)" fill="([^"]+)"[^>]*><title>([^<]*)</title>',
                       body)
    return {code: (score, fill, title) for code, score, fill, title in found}


@pytest.mark.parametrize("kind", ["curie", "siopen"])
def test_every_segment_of_the_scheme_has_a_region(client, actors: Actors, mibg, kind: str) -> None:
    client.force_login(actors.investigator_a)
    body = client.get(reverse("web-score-sheet", args=[mibg.pk, kind])).content.decode()
    system = scoring.SYSTEMS[kind]
    regions = _regions(body)
    assert sorted(regions) == sorted(system.segment_codes)
    assert len(regions) == (10 if kind == "curie" else 12)
    assert all(score == "" and fill == body_diagram.UNSCORED_FILL for score, fill, _ in regions.values())
    assert 'role="img"' in body and 'id="body-diagram"' in body and "aria-label=" in body
    assert regions[system.segments[0].code][2] == f"{system.segments[0].label_en}: not scored"
    legend = body.split('data-testid="body-diagram-legend"')[1].split("</ul>")[0]
    assert legend.count("<li>") == 1 + len(system.levels)  # not scored + each level


def test_saved_draft_colours_its_regions(client, actors: Actors, mibg) -> None:
    client.force_login(actors.investigator_a)
    url = reverse("web-score-sheet", args=[mibg.pk, "curie"])
    saved = client.post(url, {"seg_head": "2", "seg_ribs_sternum_scapulae": "0", "seg_soft_tissue": "3", "action": "save"})
    assert saved.status_code == 302 and ScoreSheet.objects.get().status == "draft"
    regions = _regions(client.get(url).content.decode())
    palette = body_diagram.palette(3)
    assert regions["head"] == ("2", palette["2"], "Head: 2")
    assert regions["ribs_sternum_scapulae"][:2] == ("0", body_diagram.ZERO_FILL)
    assert regions["soft_tissue"][:2] == ("3", palette["3"])
    assert regions["pelvis"][:2] == ("", body_diagram.UNSCORED_FILL)
    assert len({palette[s] for s in ("", "0", "1", "2", "3")}) == 5  # each level its own colour


def test_submitted_siopen_sheet_shows_the_diagram_read_only(client, actors: Actors, mibg) -> None:
    client.force_login(actors.investigator_a)
    url = reverse("web-score-sheet", args=[mibg.pk, "siopen"])
    values = {f"seg_{code}": "0" for code in scoring.SIOPEN.segment_codes}
    values["seg_upper_limb_distal_left"] = "6"
    assert client.post(url, {**values, "action": "submit"}).status_code == 302
    body = client.get(url).content.decode()
    assert 'data-testid="saved-total">6<' in body
    regions = _regions(body)
    assert regions["upper_limb_distal_left"][:2] == ("6", body_diagram.palette(6)["6"])
    assert regions["upper_limb_distal_right"][0] == "0"


def test_krenning_sheet_has_no_diagram(client, actors: Actors) -> None:
    study = h.study_of(child(actors.coordinator_a, actors.hospital_a), tracer="GA68_DOTATATE", modality="PT")
    client.force_login(actors.investigator_a)
    body = client.get(reverse("web-score-sheet", args=[study.pk, "krenning"])).content.decode()
    assert 'id="body-diagram"' not in body and "<g class=\"region\"" not in body


def test_region_titles_in_chinese(client, actors: Actors, mibg, settings) -> None:
    client.force_login(actors.investigator_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    body = client.get(reverse("web-score-sheet", args=[mibg.pk, "curie"])).content.decode()
    assert _regions(body)["head"][2] == "头颅：未评分"


def test_every_scheme_is_drawn_completely() -> None:
    for kind, system in scoring.SYSTEMS.items():
        assert set(body_diagram.REGIONS[kind]) == set(system.segment_codes)
