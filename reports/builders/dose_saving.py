"""The programme's dose-saved report (issue 18 item 4): total and median saving of effective dose per tracer, per
hospital and per year, with the exams counted per acquisition protocol and per sedation, over the PET exams in the run's
scope.

Each exam's saving is imaging.lowdose.dose_saving's (the effective dose the dosage table's recommended activity for the
child's weight would have given, minus the one received, with the same coefficient) and the groups are its
`dose_saving_summary`: nothing is recomputed here. Exams: PET exams the requester may see, at the hospitals requested
(those they may report on, Rule.REPORT_SITE), dated by `as_of` and within the study-date range, of children who have
not withdrawn the use of their data by `as_of`. Aggregates only: no study, patient or date leaves in the report.
"""
from dataclasses import replace
from datetime import date
from typing import Any

import pandas as pd
from django.utils.translation import gettext_lazy, gettext_noop

from imaging.lowdose.dose_saving import DoseSaving, dose_saving, dose_saving_summary, pet_doses
from registry.access import Rule
from registry.models import User
from registry.selectors import patients_for_research
from reports.builders.site_params import permit_hospitals, reportable_hospitals, requested_hospitals, study_range
from reports.document import Figure, Progress, Report
from reports.kinds import ReportKind, register_report_kind
from reports.params import as_of_date, refuse_unknown

PARAMS = {"hospitals", "study_from", "study_to", "as_of"}
GROUP_COLUMNS = ("tracer", "hospital", "year")
SUMMARY_COLUMNS = ["tracer", "hospital", "year", "exams", "exams_unknown", "total_saving_msv", "median_saving_msv"]
ALL = "all"
# Each section: its key, title and the grouping columns kept (the others are pooled as "all").
GROUPINGS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("saving_overall", "Dose saved over the programme", ()),
    ("saving_by_tracer", "Dose saved per tracer", ("tracer",)),
    ("saving_by_hospital", "Dose saved per hospital", ("hospital",)),
    ("saving_by_year", "Dose saved per year", ("year",)),
    ("saving_by_tracer_hospital_year", "Dose saved per tracer, hospital and year", ("tracer", "hospital", "year")),
)


def authorise(user: User, params: dict[str, Any]) -> dict[str, Any]:
    """Data managers, investigators and coordinators, over the hospitals they may report on (default: all of them)."""
    refuse_unknown(params, PARAMS)
    allowed = reportable_hospitals(user)
    start, end = study_range(params)
    normalised = {"hospitals": requested_hospitals(params, allowed), "as_of": as_of_date(params).isoformat(),
                  "study_from": start.isoformat() if start else None, "study_to": end.isoformat() if end else None}
    permit(user, normalised)
    return normalised


def permit(user: User, params: dict[str, Any]) -> None:
    permit_hospitals(user, params)


def savings(user: User, params: dict[str, Any]) -> list[DoseSaving]:
    """Every PET exam of the run's scope, as the low-dose service judges its saving (one query)."""
    as_of = date.fromisoformat(params["as_of"])
    doses = pet_doses(user).filter(study__patient__in=patients_for_research(user=user, on=as_of),
                                   study__patient__hospital__code__in=params["hospitals"], study__study_date__lte=as_of)
    if params.get("study_from"):
        doses = doses.filter(study__study_date__gte=params["study_from"])
    if params.get("study_to"):
        doses = doses.filter(study__study_date__lte=params["study_to"])
    return [dose_saving(d) for d in doses]


def summary_frame(items: list[DoseSaving], keep: tuple[str, ...]) -> pd.DataFrame:
    """The service's summary with the grouping columns not kept pooled: they read "all" (the year: none) and are left out.
    Every other column of the service's rows is kept as it gives them (the service owns what a group counts)."""
    pooled = {c: (None if c == "year" else ALL) for c in GROUP_COLUMNS if c not in keep}
    rows = dose_saving_summary(replace(s, **pooled) for s in items)
    columns = list(rows[0]) if rows else SUMMARY_COLUMNS
    frame = pd.DataFrame(rows, columns=columns)
    frame["year"] = frame["year"].map(lambda y: None if y is None or pd.isna(y) else str(int(y))).astype(object)
    return frame[[c for c in columns if c in keep or c not in GROUP_COLUMNS]]


def build(user: User, params: dict[str, Any], progress: Progress) -> Report:
    from reports import plots  # matplotlib loads with the first report built, not at start-up

    report = Report("dose_saving", f"Dose saved by the programme as of {params['as_of']}", params)
    report.notes.append(gettext_noop("Saving: the effective dose the dosage table's recommended activity for the child's weight "
                                     "would have given, minus the effective dose received (same age-specific coefficient); "
                                     "negative when more than the recommendation was given. Radiopharmaceutical part of PET "
                                     "exams only. Exams without a saving (no recommendation, weight or coefficient) are counted, "
                                     "not summed. Patients who withdrew the use of their data by the reference date are excluded."))
    items = savings(user, params)
    progress(40)
    for key, title, keep in GROUPINGS:
        report.add(key, title, summary_frame(items, keep))
    report.notes.append(gettext_noop("Every exam of a group, its saving known or not, is counted by its acquisition protocol "
                                     "(protocol_*: standard, low dose, short scan, not known) and by the child's sedation as "
                                     "recorded on the exam (sedation_*: none, sedation, general anaesthesia, not recorded). "
                                     "median_saving_percent: the median of each exam's saving as a percentage of its standard dose."))
    by_year = report.sections[3].frame.dropna(subset=["total_saving_msv"])
    if len(by_year):
        report.figures.append(Figure("saving_by_year_plot", "Total dose saved per year (mSv)",
                                     plots.bar_plot([y or "unknown" for y in by_year["year"]], by_year["total_saving_msv"].tolist(),
                                                    xlabel="mSv", language=params.get("language", "en"))))
    progress(90)
    return report


DOSE_SAVING = register_report_kind(ReportKind("dose_saving", gettext_lazy("Dose-saved report (low-dose programme)"), authorise, build,
                                              permit, offered_to=Rule.REPORT_SITE))
