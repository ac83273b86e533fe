"""Dose saved, shown: on the child's page (a panel below the imaging panel's cumulative dose) and on a programme page.

The child's panel lists each PET exam's received effective dose, the dose the dosage table's activity for the child's
weight would have given, the saving (mSv and %), the exam's protocol and sedation, and a total line. It is registered
through registry's patient-panel hook (registry/web/panels.py) from this sub-app's AppConfig.ready(), so neither
registry nor imaging imports imaging.lowdose (the import contracts in pyproject.toml).

The programme page tabulates the summary (imaging.lowdose.dose_saving.dose_saving_summary, the API's and the report's)
per tracer, hospital and year, and rolled up per tracer, per hospital and per year. Both read only the dose rows the
user may view (registry.access `restrict`), and the programme page names no child: hospitals, tracers and years only.
"""
import dataclasses
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from imaging.lowdose.dose_saving import DoseSaving, dose_saving, dose_saving_summary, pet_doses, saving_totals
from imaging.models import ImagingStudy
from nucmed.radiopharmaceuticals import CHOICES as TRACER_CHOICES
from registry.models import Patient
from registry.web.panels import Panel, register_patient_panel

PANEL_ORDER = 11  # right after the imaging panel (order 10) and its cumulative dose
TRACER_LABELS = dict(TRACER_CHOICES)
PROTOCOL_LABELS = dict(ImagingStudy.AcquisitionProtocol.choices)
SEDATION_LABELS = dict(ImagingStudy.Sedation.choices)


def _row(saving: DoseSaving) -> dict[str, Any]:
    """A DoseSaving with the labels the page shows (the tracer's name, the protocol's and sedation's in the page's language)."""
    return {**dataclasses.asdict(saving), "tracer_label": TRACER_LABELS.get(saving.tracer, saving.tracer),
            "protocol_label": PROTOCOL_LABELS.get(saving.protocol, saving.protocol),
            "sedation_label": SEDATION_LABELS.get(saving.sedation, saving.sedation)}


@register_patient_panel("lowdose_dose_saving")
def dose_saving_panel(request: HttpRequest, patient: Patient) -> Panel | None:
    """The child's PET exams with the dose saved against the standard protocol; none when the child has no PET exam the
    user may see. Studies on hold (possibly another child's images) are left out, as in the cumulative dose."""
    doses = (pet_doses(request.user).filter(study__patient=patient).exclude(study__status=ImagingStudy.Status.ON_HOLD)
             .order_by(F("study__study_date").asc(nulls_last=True), "study_id"))
    savings = [dose_saving(d) for d in doses]
    if not savings:
        return None
    return Panel("lowdose/_dose_saving_panel.html", {"rows": [_row(s) for s in savings], "totals": saving_totals(savings)},
                 order=PANEL_ORDER)


def _rollup(savings: list[DoseSaving], *, tracer: bool, hospital: bool, year: bool) -> list[dict[str, Any]]:
    """The summary over fewer dimensions: the ones not kept are blanked before grouping."""
    blanked = [dataclasses.replace(s, tracer=s.tracer if tracer else "", hospital=s.hospital if hospital else "",
                                   year=s.year if year else None) for s in savings]
    return [{**row, "tracer_label": TRACER_LABELS.get(row["tracer"], row["tracer"])} for row in dose_saving_summary(blanked)]


@login_required
@require_GET
def dose_saving_page(request: HttpRequest) -> HttpResponse:
    """The programme's dose saved over the PET exams the user may see: per tracer, hospital and year, and per each alone."""
    savings = [dose_saving(d) for d in pet_doses(request.user)]
    tables = []
    for title, testid, (tracer, hospital, year) in [
            (_("Per tracer, hospital and year"), "by-all", (True, True, True)), (_("Per tracer"), "by-tracer", (True, False, False)),
            (_("Per hospital"), "by-hospital", (False, True, False)), (_("Per year"), "by-year", (False, False, True))]:
        tables.append({"title": title, "testid": testid, "tracer": tracer, "hospital": hospital, "year": year,
                       "rows": _rollup(savings, tracer=tracer, hospital=hospital, year=year)})
    return render(request, "lowdose/dose_saving.html", {"tables": tables, "totals": saving_totals(savings)})
