"""The trial-participation panel of the patient page, by subject number and trial code.

Registered through registry's panel hook (registry/web/panels.py) when the trials app is ready, so registry never
imports trials. It reads through the trials selectors (scoped to the user; the patient page is only for the
patient's hospital).
"""
from django.http import HttpRequest

from registry.models import Patient
from registry.web.panels import Panel, register_patient_panel
from trials.selectors import subject_list


@register_patient_panel("trials")
def trials_panel(request: HttpRequest, patient: Patient) -> Panel | None:
    subjects = list(subject_list(user=request.user).filter(patient=patient).order_by("enrolled_at"))
    return Panel("trials/web/panels/trials.html", {"subjects": subjects}, order=20)
