"""The imaging panel of the patient page: every exam of the child with its doses, and the cumulative effective dose.

Registered through registry's panel hook (registry/web/panels.py) when the imaging app is ready, so registry never
imports imaging. It reads only through imaging's selectors and restricted querysets (scoped to the user).
"""
from django.http import HttpRequest

from imaging.models import Preview
from imaging.selectors import patient_dose_history
from registry.access import Action
from registry.models import Patient
from registry.web.dose_chart import dose_chart
from registry.web.panels import Panel, register_patient_panel


@register_patient_panel("imaging")
def imaging_panel(request: HttpRequest, patient: Patient) -> Panel | None:
    """Every exam of the child with its doses, and the cumulative effective dose (the API's dose-history selector)."""
    history = patient_dose_history(user=request.user, patient=patient)
    # One coronal MIP per study as a thumbnail (the first series' first), in one query whatever the number of studies.
    mips: dict[int, Preview] = {}
    for preview in (Preview.objects.restrict(request.user, Action.VIEW)
                    .filter(series__study__in=[e["study"] for e in history.exams], kind=Preview.Kind.CORONAL_MIP)
                    .select_related("series").order_by("series__study_id", "series_id", "index")):
        mips.setdefault(preview.series.study_id, preview)
    for exam in history.exams:
        exam["mip"] = mips.get(exam["study"])
    return Panel("imaging/web/panels/imaging.html", {"history": history, "chart": dose_chart(history.exams)}, order=10)
