"""The patient page's imaging panel (imaging/web/panels.py, registered through registry's panel hook): the exams,
their doses and the cumulative dose chart, with one coronal MIP thumbnail per study."""
from datetime import date

import pytest
from django.urls import reverse

from conftest import Actors
from imaging.models import DoseResult, ImagingStudy, Preview, Series
from registry.models import Patient
from registry.tests.builders import client_of, consented_patient, default_document, identity, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(actors: Actors) -> Patient:
    default_document()
    return consented_patient(actors.coordinator_a, actors.hospital_a, ident=identity(name="Li Xiaohong", record_number="MRN-A1"))


def detail(p: Patient) -> str:
    return reverse("web-patient-detail", args=[p.study_id])


def test_imaging_panel_lists_exams_with_the_cumulative_dose_chart(actors: Actors, patient: Patient) -> None:
    for n, (day, msv) in enumerate(((date(2020, 10, 1), 3.5), (date(2021, 1, 5), 4.25)), start=1):
        study = ImagingStudy.objects.create(patient=patient, study_uid=f"2.25.{n}", study_date=day, tracer="MIBG_I123")
        DoseResult.objects.create(study=study, radiopharmaceutical_msv=msv, total_msv=msv, complete=True)
    ImagingStudy.objects.create(patient=patient, study_uid="2.25.3", study_date=date(2021, 6, 1))  # dose pending
    series = Series.objects.create(study=study, series_uid="2.25.2.1", modality="NM")
    mip = Preview.objects.create(series=series, kind=Preview.Kind.CORONAL_MIP, storage_key="x.png", width=10, height=20,
                                 units="counts", window=[0, 1])
    body = text(client_of(actors.coordinator_a).get(detail(patient)))
    assert 'data-testid="dose-chart"' in body
    assert "7.75 mSv" in body  # the running total of what is known
    assert "incomplete" in body and "The dose has not been computed yet" in body
    assert body.count("<circle") == 3
    assert reverse("web-study-detail", args=[study.pk]) in body
    assert reverse("web-preview-image", args=[mip.pk]) in body and body.count("<img") == 1
