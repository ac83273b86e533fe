from io import StringIO

from django.core.management import call_command

from imaging.models import ImagingStudy, Series
from registry.audit import verify_chain


def test_seed_demo_adds_imaging_through_the_real_ingest(db, eager, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", patients=60, scale=0.02, stdout=out)
    assert "Demo imaging: 4 studies" in out.getvalue()
    assert ImagingStudy.objects.count() == 4
    assert set(ImagingStudy.objects.values_list("status", flat=True)) == {"ready"}  # the guard found no mismatch
    assert set(Series.objects.values_list("pipeline_state", flat=True)) == {"done"}
    assert {"CT"} < set(Series.objects.values_list("modality", flat=True))
    call_command("seed_demo", patients=60, scale=0.02, stdout=StringIO())
    assert ImagingStudy.objects.count() == 4
    assert verify_chain().ok
