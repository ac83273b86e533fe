"""The AE columns of the extract and of the trial report come from the AE report's declaration (trials/safety/ae_form.py)."""
import importlib
from collections.abc import Iterator

import pytest
from django.utils.translation import gettext_lazy

from reports.builders import trial as trial_report
from reports.exports import definitions
from trials.safety import ae_form


def _ae_table(module) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.name for c in next(t for t in module.TABLES if t.name == "adverse_events").columns]


def test_the_extract_and_the_trial_report_read_the_declared_columns() -> None:
    columns = _ae_table(definitions)
    assert columns == ["trial", "subject_number", "number", "soc", "term", "meddra_code", "grade", "onset_date", "resolution_date",
                       "serious", "relatedness", "expectedness", "outcome", "susar"]  # the extract's fixed layout
    assert columns[3:-1] == [export.column for _name, export in ae_form.EXPORTED]
    positions = sorted(export.position for _name, export in ae_form.EXPORTED)
    assert positions == list(range(1, len(positions) + 1))
    assert [c for c in trial_report.AE_COLUMNS if c.startswith("current_version__")] == \
        [f"current_version__{name}" for name in ae_form.IN_TRIAL_REPORT]


@pytest.fixture
def extended(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The declaration with one more exported field (the model's CTCAE version) and the extract's tables rebuilt from it;
    put back afterwards."""
    added = ae_form.ReportField("ctcae_version", gettext_lazy("CTCAE version"), export=ae_form.Export("ctcae_version", "CTCAE version.", 11))
    monkeypatch.setattr(ae_form, "EXPORTED", (*ae_form.EXPORTED, (added.name, added.export)))
    try:
        yield importlib.reload(definitions)
    finally:
        monkeypatch.undo()
        importlib.reload(definitions)


def test_a_field_added_to_the_declaration_appears_in_the_extract(extended) -> None:  # type: ignore[no-untyped-def]
    assert _ae_table(extended)[-2:] == ["ctcae_version", "susar"]
