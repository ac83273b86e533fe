"""The safety demo seeder: SAE clocks met, late and open now, SUSARs, signatures (one voided), queries in each state."""
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import Actors
from registry.demo.people import DEMO_PASSWORD
from trials.oversight.models import DataQuery, Signature
from trials.safety.demo_seed import seed_safety
from trials.safety.models import AdverseEvent, ReportingClock
from trials.safety.tests.helpers import grant, make_subject, make_trial

pytestmark = pytest.mark.django_db


def test_demo_safety_data(actors: Actors) -> None:
    actors.investigator_a.set_password(DEMO_PASSWORD)
    actors.investigator_a.save()
    trial = make_trial("DEMO-T", status="recruiting")
    grant(actors.sponsor, trial, "sponsor")
    now = timezone.now()
    for n in range(12):
        make_subject(actors.coordinator_a, actors.hospital_a, trial, enrolled_at=now - timedelta(days=30 + 10 * n))
    lines: list[str] = []
    seed_safety(actors.data_manager, 1.0, lines.append)
    clocks = ReportingClock.objects.all()
    site = clocks.filter(kind="site_24h")
    assert site.filter(status="met").exists() and site.filter(status="late").exists()
    live = site.filter(status="open")
    assert live.count() == 2 and all(c.due_at > now for c in live)
    assert live.filter(about_to_lapse=True).count() == 1
    assert set(clocks.exclude(kind="site_24h").values_list("kind", "status")) >= {("susar_15d", "met"), ("susar_7d", "late"),
                                                                               ("susar_7d", "open")}
    assert Signature.objects.filter(status="valid").exists() and Signature.objects.filter(status="voided").count() == 1
    assert set(DataQuery.objects.values_list("status", flat=True)) == {"open", "answered", "closed"}
    assert "Demo safety:" in lines[-1]
    before = AdverseEvent.objects.count()
    seed_safety(actors.data_manager, 1.0, lines.append)
    assert AdverseEvent.objects.count() == before and "already present" in lines[-1]
