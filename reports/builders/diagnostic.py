"""The diagnostic-performance report of a reading comparison: 2x2 tables, sensitivity and specificity with
Wilson 95 % intervals, and McNemar between the two methods (statistics in reports.diagnostic_stats).

Units: those of the comparison at hospitals the requester may report on, whose patient has not withdrawn the use
of their data by `as_of`, with a read by both methods (the comparison is paired; units missing a read are counted
in a note, not analysed). Unit and patient keys are pseudonymous (U001, P001 in a stable order); no registry
study ID or imaging study leaves in the report.
"""
from datetime import date
from typing import Any

import pandas as pd
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from imaging.reading.models import ComparisonUnit, ReadingComparison, UnitRead
from registry.access import Action, Rule
from registry.errors import ApplicationError
from registry.models import Hospital, User
from registry.selectors import patients_for_research
from reports.diagnostic_stats import mcnemar, sensitivity, specificity, two_by_two
from reports.document import Progress, Report
from reports.kinds import ReportKind, register_report_kind
from reports.params import as_of_date, refuse_unknown


def authorise(user: User, params: dict[str, Any]) -> dict[str, Any]:
    """Data managers, investigators and coordinators; a comparison the user cannot see reads as not found."""
    refuse_unknown(params, {"comparison", "as_of"})
    _require_reporter(user)
    raw = params.get("comparison")
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise ApplicationError(_("comparison must be a comparison id."), code="invalid_parameter",
                               fields={"comparison": [_("A reading comparison id.")]})
    normalised = {"comparison": int(raw), "as_of": as_of_date(params).isoformat()}
    permit(user, normalised)
    return normalised


def permit(user: User, params: dict[str, Any]) -> None:
    """The one rule, at request and at execution: a reporter who can see the comparison (else it reads as not found)."""
    _require_reporter(user)
    if not ReadingComparison.objects.restrict(user, Action.VIEW).filter(pk=params["comparison"]).exists():
        raise Http404("No such comparison.")


def _require_reporter(user: User) -> None:
    if not _report_hospitals(user).exists():
        raise PermissionDenied(_("Diagnostic reports are for data managers, investigators and coordinators."))


def unit_frame(user: User, comparison: ReadingComparison, as_of: date) -> pd.DataFrame:
    """One row per unit: pseudonymous keys, the reference standard and each method's read (None if missing)."""
    patients = patients_for_research(user=user, on=as_of).filter(hospital__in=_report_hospitals(user))
    units = list(ComparisonUnit.objects.restrict(user, Action.VIEW).filter(comparison=comparison, patient__in=patients)
                 .order_by("patient_id", "label", "id").values_list("pk", "patient_id", "reference_positive", "reference_source"))
    reads = dict(((u, m), p) for u, m, p in UnitRead.objects.filter(unit__in=[u[0] for u in units]).values_list("unit_id", "method", "positive"))
    patient_keys: dict[int, str] = {}
    rows = []
    for n, (pk, patient_id, reference, source) in enumerate(units, start=1):
        patient_keys.setdefault(patient_id, f"P{len(patient_keys) + 1:03d}")
        rows.append({"unit": f"U{n:03d}", "patient": patient_keys[patient_id], "reference_positive": reference,
                     "reference_source": source, "read_a": reads.get((pk, "a")), "read_b": reads.get((pk, "b"))})
    return pd.DataFrame(rows, columns=["unit", "patient", "reference_positive", "reference_source", "read_a", "read_b"])


def _report_hospitals(user: User) -> QuerySet[Hospital]:
    return Hospital.objects.restrict(user, Rule.REPORT_SITE)


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def _p(value: float | None) -> str | None:
    # As text with four significant digits: the formats round floats to four decimals, which would turn
    # p = 0.000488 into 0.0005 and small p-values into 0.
    return None if value is None else f"{value:.4g}"


def build(user: User, params: dict[str, Any], progress: Progress) -> Report:
    comparison = ReadingComparison.objects.restrict(user, Action.VIEW).get(pk=params["comparison"])
    as_of = date.fromisoformat(params["as_of"])
    methods = {"a": comparison.method_a, "b": comparison.method_b}
    report = Report("diagnostic", f"Diagnostic performance: {comparison.name}", params)
    # The methods' names are as their users typed them (not translated); the fixed sentences are a note of their own,
    # translated where the report is shown.
    report.notes.append(f"Method A: {comparison.method_a}; method B: {comparison.method_b}; unit: {comparison.get_unit_display()}.")
    # xgettext:no-python-format
    report.notes.append(gettext_noop("Patients who withdrew the use of their data by the reference date are excluded. "
                                     "Intervals: Wilson 95 % score intervals. McNemar on paired units: the exact two-sided "
                                     "binomial test on the discordant pairs (quote it when they are few) and the "
                                     "continuity-corrected chi-square."))
    units = unit_frame(user, comparison, as_of)
    progress(40)
    complete = units[units["read_a"].notna() & units["read_b"].notna()]
    if len(complete) < len(units):
        report.notes.append(f"{len(units) - len(complete)} unit(s) lack a read by one method and are not analysed.")
    report.add("units", "Units with reference standard and reads", complete.reset_index(drop=True),
               gettext_noop("Pseudonymous unit and patient keys; reads: True = positive."))
    reference = [bool(v) for v in complete["reference_positive"]]
    tables, accuracy = [], []
    for code, name in methods.items():
        table = two_by_two(reference, [bool(v) for v in complete[f"read_{code}"]])
        tables.append({"method": name, "true_positive": table.true_positive, "false_positive": table.false_positive,
                       "false_negative": table.false_negative, "true_negative": table.true_negative})
        for measure, prop in (("sensitivity", sensitivity(table)), ("specificity", specificity(table))):
            accuracy.append({"method": name, "measure": measure, "correct": prop.successes, "units": prop.total,
                             "percent": _percent(prop.estimate), "ci_low_percent": _percent(prop.low),
                             "ci_high_percent": _percent(prop.high)})
    report.add("two_by_two", "2x2 tables against the reference standard", pd.DataFrame(tables))
    report.add("accuracy", "Sensitivity and specificity (Wilson 95 % CI)", pd.DataFrame(accuracy))
    progress(70)
    rows = []
    for measure, positive in (("sensitivity", True), ("specificity", False)):
        subset = complete[complete["reference_positive"] == positive]
        # Correct = the read agrees with the reference: positive on reference-positive units, negative otherwise.
        result = mcnemar([bool(v) == positive for v in subset["read_a"]], [bool(v) == positive for v in subset["read_b"]])
        rows.append({"measure": measure, "units": result.n, "both_correct": result.both_correct, "only_a_correct": result.only_a,
                     "only_b_correct": result.only_b, "both_wrong": result.both_wrong, "exact_p": _p(result.exact_p),
                     "chi2_cc": result.chi2, "chi2_cc_p": _p(result.chi2_p)})
    report.add("mcnemar", "McNemar test between the methods (paired units)", pd.DataFrame(rows),
               gettext_noop("only_a_correct / only_b_correct: the discordant pairs. Undefined (empty) when there are none."))
    progress(90)
    return report


DIAGNOSTIC = register_report_kind(ReportKind("diagnostic", gettext_lazy("Diagnostic-performance report"), authorise, build, permit,
                                             offered_to=Rule.REPORT_SITE))
