"""What the trial pages share: who may see a patient's identity and refused writes re-rendered (who may write: registry.access.may)."""
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from registry.errors import ApplicationError
from registry.web.forms import add_application_error
from trials import selectors
from trials.models import Subject

TEMPLATES = "trials/web/"


def study_id_for(user: Any, subject: Subject) -> str | None:
    """The registry study ID, for staff of the subject's hospital only; sponsors and trial monitors get None."""
    return subject.patient.study_id if selectors.sees_patient(user, subject.site.hospital_id) else None


def refused(request: HttpRequest, template: str, context: dict[str, Any], form: forms.Form, error: ApplicationError, *,
            templates: str = TEMPLATES) -> HttpResponse:
    """A service refusal: the API's message next to the fields, everything typed kept, status 400. `templates` is the
    template folder of the app whose page it is (the safety and oversight sub-apps keep their own)."""
    add_application_error(form, error)
    return render(request, templates + template, context, status=400)
