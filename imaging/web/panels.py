"""The imaging and trial-participation panels of the patient page.

They read only through the imaging and trials selectors (scoped to the user) and are imported lazily by
`panels.patient_panels`, never at registry's import time, so the registry app still loads and migrates without
imaging or trials. Their natural home is imaging/web/patient_panels.py and trials/web/patient_panels.py (discovered
automatically); they live here until those apps' page owners take them over.
"""
from django.apps import apps
from django.http import HttpRequest

from registry.models import Patient
from registry.web.dose_chart import dose_chart
from registry.web.panels import Panel, register_patient_panel


@register_patient_panel("imaging")
def imaging_panel(request: HttpRequest, patient: Patient) -> Panel | None:
    """Every exam of the child with its doses, and the cumulative effective dose (the API's dose-history selector)."""
    if not apps.is_installed("imaging"):
        return None
    from imaging.models import Preview
    from imaging.selectors import patient_dose_history
    from registry.access import Action

    history = patient_dose_history(user=request.user, patient=patient)
    # One coronal MIP per study as a thumbnail (the first series' first), in one query whatever the number of studies.
    mips: dict[int, Preview] = {}
    for preview in (Preview.objects.restrict(request.user, Action.VIEW)
                    .filter(series__study__in=[e["study"] for e in history.exams], kind=Preview.Kind.CORONAL_MIP)
                    .select_related("series").order_by("series__study_id", "series_id", "index")):
        mips.setdefault(preview.series.study_id, preview)
    for exam in history.exams:
        exam["mip"] = mips.get(exam["study"])
    return Panel("registry/web/panels/imaging.html", {"history": history, "chart": dose_chart(history.exams)}, order=10)


@register_patient_panel("trials")
def trials_panel(request: HttpRequest, patient: Patient) -> Panel | None:
    """Trial participation by subject number and trial code (the patient page is only for the patient's hospital)."""
    if not apps.is_installed("trials"):
        return None
    from trials.selectors import subject_list

    subjects = list(subject_list(user=request.user).filter(patient=patient).order_by("enrolled_at"))
    return Panel("registry/web/panels/trials.html", {"subjects": subjects}, order=20)
