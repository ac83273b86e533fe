import re
from io import StringIO

from django.core.management import call_command

from imaging.models import DoseResult, ImagingStudy, Preview, Series, SuvResult
from registry.audit import verify_chain


def test_seed_demo_adds_imaging_through_the_real_ingest_and_analysis(db, eager, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", patients=60, scale=0.04, stdout=out)
    seeded = int(re.search(r"Demo imaging: (\d+) studies of 6 children", out.getvalue()).group(1))  # type: ignore[union-attr]
    assert 6 <= seeded <= 8  # one child in three has a follow-up exam when it is not in the future
    studies = ImagingStudy.objects.count()  # the reading seeder adds its own series through the same ingest
    assert set(ImagingStudy.objects.values_list("status", flat=True)) == {"ready"}  # the guard found no mismatch
    assert set(Series.objects.values_list("pipeline_state", flat=True)) == {"done"}
    assert {"CT"} < set(Series.objects.values_list("modality", flat=True))
    # Every exam has its dose; every PET series its SUV result; every image series its previews.
    assert DoseResult.objects.count() == studies
    assert not DoseResult.objects.filter(radiopharmaceutical_msv__isnull=True, tracer__in=["F18_FDG", "I123_MIBG"]).exists()
    ours = ImagingStudy.objects.order_by("id").values_list("id", flat=True)[:seeded]  # seeded first (order 20)
    ours_dose = DoseResult.objects.filter(study__in=list(ours))
    assert not ours_dose.filter(ct_dlp_mgy_cm__isnull=False, ct_msv__isnull=True).exists()  # BodyPartExamined: region known
    assert SuvResult.objects.count() == Series.objects.filter(modality="PT").count()
    imaged = Series.objects.filter(modality__in=["PT", "NM", "CT"])
    assert Preview.objects.filter(kind="coronal_mip").values("series").distinct().count() == imaged.count()
    call_command("seed_demo", patients=60, scale=0.04, stdout=StringIO())
    assert ImagingStudy.objects.count() == studies
    assert verify_chain().ok
