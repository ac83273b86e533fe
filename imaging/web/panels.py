"""The imaging panel of the patient page: every exam of the child with its doses, and the cumulative effective dose.

Registered through registry's panel hook (registry/web/panels.py) when the imaging app is ready, so registry never
imports imaging. It reads only through imaging's selectors and restricted querysets (scoped to the user).

Studies on hold (the wrong-patient guard: possibly another child's images) are left out of the exam count, the dose
history and the chart until released (the selector leaves them out); the panel lists them apart with a link, so the
coordinator sees what waits. Exams without a recorded date are listed apart too: the chart's axis is time.
"""
from django.http import HttpRequest
from django.urls import reverse

from imaging.models import ImagingStudy, Preview
from imaging.selectors import patient_dose_history
from nucmed.radiopharmaceuticals import CHOICES as TRACER_CHOICES
from registry.access import Action, reach
from registry.models import Patient
from registry.web.dose_chart import dose_chart
from registry.web.panels import Panel, register_patient_panel

TRACER_LABELS = dict(TRACER_CHOICES)
MODALITY_GROUP_LABELS = dict(ImagingStudy.ModalityGroup.choices)


@register_patient_panel("imaging")
def imaging_panel(request: HttpRequest, patient: Patient) -> Panel | None:
    """Every exam of the child with its doses, and the cumulative effective dose (the API's dose-history selector)."""
    history = patient_dose_history(user=request.user, patient=patient)
    # One coronal MIP per study as a thumbnail (the first series' first), in one query whatever the number of studies.
    mips: dict[int, Preview] = {}
    for preview in (Preview.objects.restrict(request.user, Action.VIEW)
                    .filter(series__study__in=[e["study"] for e in history.exams], kind=Preview.Kind.CORONAL_MIP)
                    .select_related("series").order_by("series__study_id", "series_id", "index") if history.exams else []):
        mips.setdefault(preview.series.study_id, preview)
    for exam in history.exams:
        exam["mip"] = mips.get(exam["study"])
        # Labels, not codes: the catalogue's name of the tracer and the modality group's label (in the page's language).
        exam["tracer_label"] = TRACER_LABELS.get(exam["tracer"], exam["tracer"])
        exam["modality_label"] = MODALITY_GROUP_LABELS.get(exam["modality_group"], exam["modality_group"])
    # "Upload images" for those who may add data to this child (the upload page's own rule); no query (the scope is cached).
    may_upload = reach(request.user, Action.ADD, Patient).covers(hospital_id=patient.hospital_id)
    upload_url = f"{reverse('web-upload')}?patient={patient.study_id}" if may_upload else None
    return Panel("imaging/web/panels/imaging.html", {
        "history": history, "chart": dose_chart(history.exams),
        "dated": [e for e in history.exams if e["study_date"] is not None],
        "undated": [e for e in history.exams if e["study_date"] is None],
        "held": history.held, "upload_url": upload_url}, order=10)
