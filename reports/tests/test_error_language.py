"""Report parameter refusals speak the request's language: the same code, the message in Chinese for a zh-Hans
request and in English otherwise."""
from typing import Any

import pytest
from django.utils import translation

from conftest import Actors, api_client, refused_in_both_languages
from registry.errors import ApplicationError
from reports.kinds import report_kind
from reports.models import ReportRun

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/runs/"


def both(actors: Actors, body: dict[str, Any]) -> tuple[dict, dict]:
    english, chinese = refused_in_both_languages(api_client(actors.data_manager), URL, body)
    assert not ReportRun.objects.exists()
    return english, chinese


def test_diagnosis_from_after_diagnosis_to(actors: Actors) -> None:
    english, chinese = both(actors, {"kind": "cohort",
                                     "params": {"diagnosis_from": "2022-01-01", "diagnosis_to": "2021-01-01"}})
    assert english["code"] == chinese["code"] == "invalid_parameter"
    assert english["detail"] == "diagnosis_from is after diagnosis_to."
    assert english["fields"] == {"diagnosis_from": ["After diagnosis_to."]}
    assert chinese["detail"] == "diagnosis_from 晚于 diagnosis_to。"
    assert chinese["fields"] == {"diagnosis_from": ["晚于 diagnosis_to。"]}


def test_unknown_parameter_and_bad_date(actors: Actors) -> None:
    english, chinese = both(actors, {"kind": "cohort", "params": {"colour": "blue"}})
    assert english["detail"] == "Unknown parameter(s): colour."
    assert chinese["detail"] == "未知参数：colour。"
    assert chinese["fields"] == {"colour": ["未知参数。"]}
    english, chinese = both(actors, {"kind": "cohort", "params": {"as_of": "30/06/2023"}})
    assert english["detail"] == "as_of must be a date (YYYY-MM-DD)."
    assert chinese["detail"] == "as_of 必须是日期（YYYY-MM-DD）。"


def test_unknown_kind_from_the_service() -> None:
    """The API's serializer refuses an unknown kind first; the service says it in the active language too."""
    for language, detail in (("en", "Unknown report kind."), ("zh-hans", "未知的报告类型。")):
        with translation.override(language), pytest.raises(ApplicationError) as err:
            report_kind("nonsense")
        assert err.value.code == "unknown_report_kind" and err.value.message == detail
