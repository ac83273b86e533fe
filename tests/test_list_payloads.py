"""List payloads carry each thing once (issue 19: every study embedded its series' steps twice, `pipeline_steps` and
`steps`, 100 KB per page of 25). The typed `steps` list stays; the stored JSON is not repeated."""
from imaging.api.views import SeriesSerializer, StudySerializer


def test_a_series_lists_its_steps_once() -> None:
    fields = SeriesSerializer().fields
    assert "steps" in fields and "pipeline_steps" not in fields
    assert "pipeline_steps" not in StudySerializer().fields["series"].child.fields
