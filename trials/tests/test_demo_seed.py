"""The demo trials seeder, on a small demo cohort: three trials in their states, through the services."""
from io import StringIO

from django.core.management import call_command

from registry.audit import verify_chain
from registry.models import AuditEvent, User
from trials.demo_seed import DOTA, MIBG, NAF, SPONSOR_LOGIN, seed_trials
from trials.models import AllocationSlot, DosingRecord, ScreeningRecord, Subject, Trial, TrialMembership


def test_seed_creates_the_three_demo_trials_once(db) -> None:  # type: ignore[no-untyped-def]
    call_command("seed_demo", patients=1500, scale=0, stdout=StringIO())
    lines: list[str] = []
    seed_trials(User.objects.get(username="system"), 1.0, lines.append)
    assert "Demo trials:" in lines[-1]
    statuses = dict(Trial.objects.values_list("code", "status"))
    assert statuses == {NAF.code: "completed", DOTA.code: "recruiting", MIBG.code: "recruiting"}
    for code in statuses:
        assert Subject.objects.filter(trial__code=code).exists(), code
    assert set(Subject.objects.filter(trial__code=NAF.code).values_list("status", flat=True)) == {"completed"}
    assert ScreeningRecord.objects.filter(outcome="screen_failure").exists()
    # Randomised subjects took their arms from the stored list; the cohort trial's arms were assigned in order.
    dota = Subject.objects.filter(trial__code=DOTA.code)
    assert AllocationSlot.objects.filter(subject__isnull=False).count() == dota.count()
    assert not Subject.objects.filter(arm__isnull=True).exists()
    assert DosingRecord.objects.filter(net_activity_mbq__gt=0).count() == DosingRecord.objects.count() > 0
    sponsor = User.objects.get(username=SPONSOR_LOGIN)
    assert sponsor.check_password("nb-demo-2026!")
    assert TrialMembership.objects.filter(user=sponsor, role="sponsor").count() == 3
    # Idempotent: a second run adds nothing.
    events = AuditEvent.objects.count()
    seed_trials(User.objects.get(username="system"), 1.0, lines.append)
    assert lines[-1].startswith("Demo trials already present") and AuditEvent.objects.count() == events
    assert verify_chain().ok
