"""Admin pages of safety and oversight rows: readable by data managers, not writable (writes go through services)."""
import pytest
from django.urls import reverse

from conftest import Actors
from trials.oversight.models import DataQuery, Signature
from trials.safety.models import AdverseEvent, ReportingClock

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [AdverseEvent, ReportingClock, Signature, DataQuery])
def test_changelists_are_read_only_for_data_managers(actors: Actors, client, model) -> None:  # type: ignore[no-untyped-def]
    actors.data_manager.is_staff = True
    actors.data_manager.save()
    client.force_login(actors.data_manager)
    opts = model._meta
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
    client.force_login(actors.coordinator_a)
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 302
