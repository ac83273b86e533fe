"""The AE report's declaration (trials/safety/ae_form.py) and what derives from it: the model's labels, the service's
accepted and required fields, the API's serializers and the web form. The extract's and the trial report's columns are
tested in reports/tests/test_ae_columns.py (reports may import trials, not the other way round)."""
import importlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from types import ModuleType

import pytest
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy

from conftest import Actors
from registry.errors import ApplicationError
from trials.safety import ae_form
from trials.safety.api.serializers import FollowUpSerializer, ReportSerializer, VersionSerializer
from trials.safety.models import AdverseEventVersion
from trials.safety.services.events import adverse_event_follow_up, adverse_event_report
from trials.safety.tests.helpers import make_subject, make_trial
from trials.safety.web import forms as web_forms

ENTERED = [field.name for field in ae_form.ENTERED]
TODAY, NOW = date(2026, 3, 10), datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
ANEMIA = "10002272"


def _report_fields(serializer: object) -> list[str]:
    return [name for name in serializer.fields if name in ae_form.BY_NAME]  # type: ignore[attr-defined]


def test_every_declared_field_is_a_field_of_the_report_model_with_the_declared_label() -> None:
    for field in ae_form.FIELDS:
        assert str(AdverseEventVersion._meta.get_field(field.name).verbose_name) == str(field.label), field.name


def test_the_api_takes_the_entered_fields_in_order_requiring_the_declared_ones_only_in_the_initial_report() -> None:
    create, follow_up = ReportSerializer(), FollowUpSerializer()
    assert _report_fields(create) == _report_fields(follow_up) == ENTERED
    assert [name for name in ENTERED if create.fields[name].required] == list(ae_form.REQUIRED)
    assert not any(follow_up.fields[name].required for name in ENTERED)
    # The output shape holds every declared field, derived ones (term, SOC, seriousness) included.
    assert [name for name in VersionSerializer().fields if name in ae_form.BY_NAME] == [f.name for f in ae_form.FIELDS]


def test_the_web_form_shows_the_entered_fields_in_order_with_the_declared_labels() -> None:
    form = web_forms.AdverseEventForm()
    assert list(form.fields) == ENTERED
    assert {name: str(f.label) for name, f in form.fields.items()} == {name: capfirst(str(ae_form.label(name))) for name in ENTERED}


@pytest.fixture
def extended(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ModuleType]]:
    """The declaration with one more field (the model's CTCAE version, entered and exported), and the form rebuilt from
    it; put back afterwards. (The extract's side: reports/tests/test_ae_columns.py.)"""
    added = ae_form.ReportField("ctcae_version", gettext_lazy("CTCAE version"), export=ae_form.Export("ctcae_version", "CTCAE version.", 11))
    fields = (*ae_form.FIELDS, added)
    monkeypatch.setattr(ae_form, "FIELDS", fields)
    monkeypatch.setattr(ae_form, "BY_NAME", {f.name: f for f in fields})
    monkeypatch.setattr(ae_form, "ENTERED", (*ae_form.ENTERED, added))
    monkeypatch.setattr(ae_form, "ENTERED_NAMES", ae_form.ENTERED_NAMES | {added.name})
    monkeypatch.setattr(ae_form, "EXPORTED", (*ae_form.EXPORTED, (added.name, added.export)))
    try:
        yield {"forms": importlib.reload(web_forms)}
    finally:
        monkeypatch.undo()
        importlib.reload(web_forms)


def test_a_field_added_to_the_declaration_appears_in_the_serializers_and_the_form(extended) -> None:  # type: ignore[no-untyped-def]
    assert "ctcae_version" in ReportSerializer().fields and "ctcae_version" in FollowUpSerializer().fields
    assert "ctcae_version" in extended["forms"].AdverseEventForm().fields


def test_a_follow_up_rule_is_the_fields_declared_one() -> None:
    rules = {field.name: field.follow_up for field in ae_form.FIELDS if field.follow_up is not ae_form.FollowUp.CARRIED}
    assert rules == {"other_specify": ae_form.FollowUp.CLEARED_WITH_TERM, "site_awareness_at": ae_form.FollowUp.FIXED_ONCE_SERIOUS}


@pytest.mark.django_db
def test_the_service_refuses_undeclared_fields_and_names_each_missing_required_one(actors: Actors) -> None:
    subject = make_subject(actors.coordinator_a, actors.hospital_a, make_trial())
    with pytest.raises(ApplicationError) as unknown:
        adverse_event_report(actor=actors.coordinator_a, subject=subject, data={"term": "Anemia"}, today=TODAY, now=NOW)
    assert (unknown.value.code, set(unknown.value.fields)) == ("invalid", {"term"})  # derived, not entered
    with pytest.raises(ApplicationError) as missing:
        adverse_event_report(actor=actors.coordinator_a, subject=subject, data={}, today=TODAY, now=NOW)
    assert missing.value.code == "invalid" and list(missing.value.fields) == list(ae_form.REQUIRED)


@pytest.mark.django_db
def test_a_follow_up_carries_every_entered_field_over_and_clears_the_specify_text_with_a_new_term(actors: Actors) -> None:
    subject = make_subject(actors.coordinator_a, actors.hospital_a, make_trial())
    event = adverse_event_report(actor=actors.coordinator_a, subject=subject, today=TODAY, now=NOW, data={
        "meddra_code": "10005329", "other_specify": "marrow aplasia", "onset_date": date(2026, 3, 1), "grade": 2,
        "relatedness": "possible", "expectedness": "expected", "action_taken": "not_applicable", "outcome": "recovering"})
    first = event.current_version
    event = adverse_event_follow_up(actor=actors.coordinator_a, event=event, data={"grade": 3}, today=TODAY, now=NOW)
    second = event.current_version
    assert {name: getattr(second, name) for name in ENTERED} == {**{name: getattr(first, name) for name in ENTERED}, "grade": 3}
    event = adverse_event_follow_up(actor=actors.coordinator_a, event=event, data={"meddra_code": ANEMIA}, today=TODAY, now=NOW)
    assert (event.current_version.term, event.current_version.other_specify) == ("Anemia", "")
