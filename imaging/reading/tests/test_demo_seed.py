from io import StringIO

from django.core.management import call_command

from imaging.reading.models import ReadingSession, ScoreSheet
from registry.audit import verify_chain
from registry.models import User


def test_seed_demo_adds_reads_and_a_complete_reading_session(db, eager, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", patients=60, scale=0.02, stdout=out)
    assert "Demo reads:" in out.getvalue(), out.getvalue()
    sheets = ScoreSheet.objects.filter(status="submitted")
    assert sheets.filter(role="read").values("reader__username").distinct().count() == 2
    assert sheets.filter(role="consensus").exists()
    assert set(sheets.values_list("kind", flat=True)) == {"curie", "siopen"}
    assert sheets.filter(timepoint="post_induction").exists() and sheets.filter(timepoint="baseline").exists()
    # Realistic disagreement: some pairs of reads differ, most segments agree.
    by_study: dict[tuple[int, str], list[int]] = {}
    for sheet in sheets.filter(role="read"):
        by_study.setdefault((sheet.study_id, sheet.kind), []).append(sheet.total)
    assert any(len(set(totals)) > 1 for totals in by_study.values())
    session = ReadingSession.objects.get()
    assert session.status == "complete" and session.assignments.count() == 2
    assert User.objects.filter(username="inv2_bjyy", memberships__hospital__code="BJYY").exists()
    before = (ScoreSheet.objects.count(), ReadingSession.objects.count())
    call_command("seed_demo", patients=60, scale=0.02, stdout=StringIO())
    assert (ScoreSheet.objects.count(), ReadingSession.objects.count()) == before
    assert verify_chain().ok
