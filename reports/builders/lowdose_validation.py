"""The low-dose validation report of one evaluation protocol (issue 18 item 5): the stored evaluations of its pairs
(imaging.lowdose PairMetrics), their distributions, the SUV agreement of the lesion VOIs (Bland-Altman), the reader
study's results, and one plain-language conclusion line per acceptance criterion the protocol declared beforehand.

Pairs: the protocol's pairs at the hospitals requested (those the requester may report on, Rule.REPORT_SITE), whose
child has not withdrawn the use of their data by `as_of`, whose study is in the date range; only evaluated pairs
(status succeeded, metrics stored) are analysed, the others are counted in a note. Nothing is recomputed from images:
every number is the stored evaluation's or a summary of them. Pair, patient and VOI keys are pseudonymous (E001,
P001, E001-L1, in a stable order); no study, series, VOI label or date leaves in the report (the study's year does).

Conclusions: a criterion is met when every evaluated pair that has the value met it, as the evaluation judged and
stored it (imaging.lowdose.evaluation._judge: the worst VOI of a pair decides); not met when one pair did not; not
judged when no pair has the value. A reader-study criterion is judged over the reader study by confidence interval
(reader_conclusion: non-inferior when the interval's lower bound is at or above the margin). The lines are written in
the run's language (like the PDF's headings, reports.renderers.ZH_TITLES: a worker renders the run, with no request to
translate for).
"""
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from imaging.lowdose.models import EvaluationPair, EvaluationProtocol
from imaging.reading.models import ReadingSession
from nucmed.image_similarity import SUV_KEYS, bland_altman
from registry.access import Action, Rule, may
from registry.errors import ApplicationError
from registry.models import User
from registry.selectors import patients_for_research
from reports import display
from reports.builders.site_params import permit_hospitals, reportable_hospitals, requested_hospitals, study_range
from reports.document import Figure, Progress, Report
from reports.kinds import ReportKind, register_report_kind
from reports.params import as_of_date, refuse_unknown

PARAMS = {"protocol", "hospitals", "study_from", "study_to", "as_of"}

# The stored per-pair numbers summarised, in the order of the distributions table.
PAIR_METRICS = ("nrmse", "psnr_db", "ssim", "suv_max_bias_percent", "liver_snr_reference", "liver_snr_test",
                "liver_cv_reference", "liver_cv_test")
VOI_METRICS = tuple(f"voi_{key}_bias_percent" for key in SUV_KEYS)
PERCENT_METRICS = {"suv_max_bias_percent", *VOI_METRICS}

# A criterion and its judgement in plain words, English and Chinese, chosen by the run's language.
BOUNDS = {"max_abs": ("|{metric}| < {bound}", "|{metric}| < {bound}"), "min": ("{metric} ≥ {bound}", "{metric} ≥ {bound}"),
          "max": ("{metric} ≤ {bound}", "{metric} ≤ {bound}")}
VERDICTS = {
    True: ("{criterion}: met. Every one of the {judged} evaluated pairs with this value meets it (worst {worst}).",
           "{criterion}：达到。具有该数值的全部 {judged} 对已评估配对均满足（最差值 {worst}）。"),
    False: ("{criterion}: not met. {met} of the {judged} evaluated pairs with this value meet it (worst {worst}).",
            "{criterion}：未达到。具有该数值的 {judged} 对已评估配对中有 {met} 对满足（最差值 {worst}）。"),
    None: ("{criterion}: not judged. No evaluated pair has this value.", "{criterion}：无法判断。没有已评估配对具有该数值。"),
}
ROLES_NOTE = ("Reference: {reference}; test: {test}.", "参考：{reference}；测试：{test}。")
MISSING = (" {missing} evaluated pair(s) without this value are not counted.", "另有 {missing} 对已评估配对无该数值，未计入。")

# A reader criterion (imaging.lowdose.services.check_criteria {"reader": key, "non_inferiority_margin": m <= 0}) is judged
# over the reader study, by confidence interval: non-inferior when the lower bound of the 95 % interval of test - reference
# is at or above the margin (ICH E9, section 3.3.2; Piaggio G, Elbourne DR, Pocock SJ et al., CONSORT extension for
# non-inferiority and equivalence trials, JAMA 2012;308(24):2594-2604).
READER_LABELS = {
    "overall_quality": ("Overall image quality", "整体图像质量"), "noise": ("Noise", "噪声"),
    "lesion_conspicuity": ("Lesion conspicuity", "病灶显著性"), "diagnostic_confidence": ("Diagnostic confidence", "诊断信心"),
    "lesion_detection_rate": ("Lesion detection rate", "病灶检出率"), "lesion_confidence": ("Confidence in the lesion calls", "病灶判定信心"),
}
READER_CRITERION = ("{label} (reader study), test non-inferior to reference, margin {margin}",
                    "{label}（阅片研究）：测试不劣于参考，非劣效界值 {margin}")
READER_VERDICTS = {
    True: ("{criterion}: met. Test - reference {difference}, 95 % interval {low} to {high} (n = {n} children); its lower "
           "bound is at or above the margin {margin}.",
           "{criterion}：达到。测试 - 参考差值 {difference}，95% 置信区间 {low} 至 {high}（n = {n} 名儿童）；其下限不低于界值 {margin}。"),
    False: ("{criterion}: not met. Test - reference {difference}, 95 % interval {low} to {high} (n = {n} children); its "
            "lower bound is below the margin {margin}.",
            "{criterion}：未达到。测试 - 参考差值 {difference}，95% 置信区间 {low} 至 {high}（n = {n} 名儿童）；其下限低于界值 {margin}。"),
    None: ("{criterion}: not judged. {reason}", "{criterion}：无法判断。{reason}"),
}
READER_NOT_JUDGED = {
    "not_shown": ("Reader results are shown only to data managers of every hospital.", "阅片结果仅向全部医院的数据管理员显示。"),
    "not_installed": ("The reader study is not available on this installation.", "本系统未安装阅片研究。"),
    "no_session": ("No reader-study session of this protocol is complete.", "本方案尚无已完成的阅片研究。"),
    "no_result": ("The reader study has no result for this criterion.", "阅片研究没有该项结果。"),
    "no_interval": ("No 95 % interval of test - reference: {why}.", "无法得到测试 - 参考差值的 95% 置信区间：{why}。"),
}

PAIR_COLUMNS = ["pair", "patient", "hospital", "year", "grid", "n_voxels", *PAIR_METRICS, "lesion_vois", "method_version"]
VOI_COLUMNS = ["pair", "voi", *(c for key in SUV_KEYS for c in (f"{key}_reference", f"{key}_test", f"voi_{key}_bias_percent"))]
DISTRIBUTION_COLUMNS = ["metric", "n", "median", "q1", "q3", "min", "max"]
AGREEMENT_COLUMNS = ["measure", "difference_in", "n", "mean_reference", "mean_test", "bias", "sd", "lower_loa", "upper_loa"]
READER_COLUMNS = ["criterion", "label", "n", "reference_median", "test_median", "median_difference", "ci_low", "ci_high",
                  "ci_confidence", "wilcoxon_p", "agreement", "agreement_method"]
CONCLUSION_COLUMNS = ["criterion", "metric", "bound", "pairs", "pairs_judged", "pairs_met", "worst_value", "met", "conclusion"]


def authorise(user: User, params: dict[str, Any]) -> dict[str, Any]:
    """Data managers, investigators and coordinators over their hospitals; a protocol they cannot see reads as not found."""
    refuse_unknown(params, PARAMS)
    allowed = reportable_hospitals(user)
    raw = params.get("protocol")
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise ApplicationError(_("protocol must be an evaluation protocol id."), code="invalid_parameter",
                               fields={"protocol": [_("An evaluation protocol id.")]})
    start, end = study_range(params)
    normalised = {"protocol": int(raw), "hospitals": requested_hospitals(params, allowed), "as_of": as_of_date(params).isoformat(),
                  "study_from": start.isoformat() if start else None, "study_to": end.isoformat() if end else None}
    permit(user, normalised)
    return normalised


def permit(user: User, params: dict[str, Any]) -> None:
    """The one rule, at request and at execution: a reporter over the run's hospitals who can see the protocol."""
    permit_hospitals(user, params)
    if not EvaluationProtocol.objects.restrict(user, Action.VIEW).filter(pk=params["protocol"]).exists():
        raise Http404("No such protocol.")


def pair_rows(user: User, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The protocol's pairs in the run's scope with their stored metrics (None for a pair not evaluated), one query,
    ordered by child, study date and pair (the pseudonymous keys follow this order)."""
    as_of = date.fromisoformat(params["as_of"])
    study = "reference__study__"
    pairs = (EvaluationPair.objects.restrict(user, Action.VIEW)
             .filter(protocol_id=params["protocol"], **{f"{study}patient__in": patients_for_research(user=user, on=as_of),
                                                         f"{study}patient__hospital__code__in": params["hospitals"]}))
    if params.get("study_from"):
        pairs = pairs.filter(**{f"{study}study_date__gte": params["study_from"]})
    if params.get("study_to"):
        pairs = pairs.filter(**{f"{study}study_date__lte": params["study_to"]})
    fields = {"pk": "pk", "status": "status", "patient_id": f"{study}patient_id", "hospital": f"{study}patient__hospital__code",
              "study_date": f"{study}study_date", "has_metrics": "metrics__pk", "grid": "metrics__grid", "n_voxels": "metrics__n_voxels",
              **{m: f"metrics__{m}" for m in PAIR_METRICS}, "vois": "metrics__vois", "criteria": "metrics__criteria",
              "method_version": "metrics__method_version"}
    rows = pairs.order_by(f"{study}patient_id", f"{study}study_date", "pk").values_list(*fields.values())
    return [dict(zip(fields, row, strict=True)) for row in rows]


def _evaluated(row: dict[str, Any]) -> bool:
    return row["has_metrics"] is not None and row["status"] == EvaluationPair.Status.SUCCEEDED


def keyed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pseudonymous pair (E001) and patient (P001) keys in the rows' order."""
    patients: dict[int, str] = {}
    out = []
    for n, row in enumerate(rows, start=1):
        patients.setdefault(row["patient_id"], f"P{len(patients) + 1:03d}")
        out.append({**row, "pair": f"E{n:03d}", "patient": patients[row["patient_id"]]})
    return out


def pair_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{**{c: r.get(c) for c in PAIR_COLUMNS}, "year": str(r["study_date"].year) if r["study_date"] else None,
                          "lesion_vois": len(r["vois"] or [])} for r in rows], columns=PAIR_COLUMNS)


def voi_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per lesion VOI of an evaluated pair: reference and test SUVs and the stored bias (VOI labels stay out)."""
    out = []
    for r in rows:
        for n, v in enumerate(r["vois"] or [], start=1):
            cells: dict[str, Any] = {"pair": r["pair"], "voi": f"{r['pair']}-L{n}"}
            for key in SUV_KEYS:
                cells |= {f"{key}_reference": (v.get("reference") or {}).get(key), f"{key}_test": (v.get("test") or {}).get(key),
                          f"voi_{key}_bias_percent": (v.get("bias_percent") or {}).get(key)}
            out.append(cells)
    return pd.DataFrame(out, columns=VOI_COLUMNS)


def _numbers(values: Any) -> np.ndarray:
    return np.asarray([float(v) for v in values if v is not None and not pd.isna(v)], dtype=float)


def distribution(metric: str, values: Any) -> dict[str, Any]:
    """n, median, quartiles (numpy's linear interpolation), minimum and maximum of the values present."""
    arr = _numbers(values)
    if arr.size == 0:
        return {"metric": metric, "n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None}
    q1, median, q3 = np.percentile(arr, [25, 50, 75])
    return {"metric": metric, "n": int(arr.size), "median": float(median), "q1": float(q1), "q3": float(q3),
            "min": float(arr.min()), "max": float(arr.max())}


def distribution_frame(pairs: pd.DataFrame, vois: pd.DataFrame) -> pd.DataFrame:
    rows = [distribution(m, pairs[m]) for m in PAIR_METRICS]
    rows += [distribution(m, vois[m]) for m in VOI_METRICS]
    return pd.DataFrame(rows, columns=DISTRIBUTION_COLUMNS)


def _agreement_row(measure: str, difference_in: str, reference: list[float], test: list[float]) -> dict[str, Any]:
    result = bland_altman(reference, test)
    in_suv = difference_in == "suv" and bool(reference)  # the per cent rows have no SUV to average
    return {"measure": measure, "difference_in": difference_in, "n": result.n,
            "mean_reference": float(np.mean(reference)) if in_suv else None, "mean_test": float(np.mean(test)) if in_suv else None,
            "bias": result.bias, "sd": result.sd, "lower_loa": result.lower_loa, "upper_loa": result.upper_loa}


def _paired(frame: pd.DataFrame, a: str, b: str) -> tuple[list[float], list[float]]:
    both = frame[[a, b]].dropna()
    return [float(v) for v in both[a]], [float(v) for v in both[b]]


def agreement_frame(pairs: pd.DataFrame, vois: pd.DataFrame) -> pd.DataFrame:
    """Bland-Altman bias and 95 % limits of agreement (nucmed.image_similarity.bland_altman; Bland JM, Altman DG, Lancet
    1986;1(8476):307-310) of the lesion VOIs' SUVmax, SUVmean and SUVpeak: in SUV (test - reference) and in per cent (the
    stored per-VOI biases are the differences, against 0); the whole-body SUVmax bias is stored in per cent only."""
    rows = []
    for key in SUV_KEYS:
        rows.append(_agreement_row(key, "suv", *_paired(vois, f"{key}_reference", f"{key}_test")))
        percent = [float(v) for v in vois[f"voi_{key}_bias_percent"].dropna()]
        rows.append(_agreement_row(key, "percent", [0.0] * len(percent), percent))
    whole_body = [float(v) for v in pairs["suv_max_bias_percent"].dropna()]
    rows.append(_agreement_row("whole_body_suv_max", "percent", [0.0] * len(whole_body), whole_body))
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def _words(pair: tuple[str, str], language: str) -> str:
    return pair[1] if display.is_zh(language) else pair[0]


def criterion_text(criterion: dict[str, Any], language: str) -> str:
    bound_key = next(k for k in BOUNDS if k in criterion)
    unit = " %" if criterion["metric"] in PERCENT_METRICS else ""
    metric = display.value_label("metric", criterion["metric"], language) or criterion["metric"]
    return _words(BOUNDS[bound_key], language).format(metric=metric, bound=f"{criterion[bound_key]:g}{unit}")


def _stored_judgement(stored: list[dict[str, Any]], criterion: dict[str, Any]) -> dict[str, Any] | None:
    """The pair's stored judgement of this criterion (same metric and bound), or None if it has none."""
    bound = {k: criterion[k] for k in BOUNDS if k in criterion}
    for item in stored or []:
        if item.get("metric") == criterion["metric"] and {k: item[k] for k in BOUNDS if k in item} == bound:
            return item
    return None


def _worst(criterion: dict[str, Any], values: list[float]) -> float | None:
    if not values:
        return None
    if "max_abs" in criterion:
        return max(values, key=abs)
    return min(values) if "min" in criterion else max(values)


def conclusion(criterion: dict[str, Any], rows: list[dict[str, Any]], language: str) -> dict[str, Any]:
    """One pre-declared criterion over the evaluated pairs, from their stored judgements, with its plain-language line."""
    judged = [j for j in (_stored_judgement(r["criteria"], criterion) for r in rows) if j is not None and j.get("met") is not None]
    met_count = sum(bool(j["met"]) for j in judged)
    met = None if not judged else met_count == len(judged)
    worst = _worst(criterion, [float(j["value"]) for j in judged if j.get("value") is not None])
    unit = " %" if criterion["metric"] in PERCENT_METRICS else ""
    text = criterion_text(criterion, language)
    line = _words(VERDICTS[met], language).format(criterion=text, judged=len(judged), met=met_count,
                                                  worst="" if worst is None else f"{worst:.4g}{unit}")
    if judged and len(judged) < len(rows):
        line += _words(MISSING, language).format(missing=len(rows) - len(judged))
    bound_key = next(k for k in BOUNDS if k in criterion)
    return {"criterion": text, "metric": criterion["metric"], "bound": f"{bound_key} {criterion[bound_key]:g}", "pairs": len(rows),
            "pairs_judged": len(judged), "pairs_met": met_count, "worst_value": worst, "met": met, "conclusion": line}


def reader_criterion_text(criterion: dict[str, Any], language: str) -> str:
    labels = READER_LABELS.get(criterion["reader"], (criterion["reader"], criterion["reader"]))
    return _words(READER_CRITERION, language).format(label=_words(labels, language), margin=f"{criterion['non_inferiority_margin']:g}")


def _number(value: Any) -> str:
    return "—" if value is None else f"{float(value):.3g}"


def reader_conclusion(criterion: dict[str, Any], results: list[dict[str, Any]] | str, rows: list[dict[str, Any]],
                      language: str) -> dict[str, Any]:
    """One pre-declared reader criterion over the reader study: met when the lower bound of the interval of test -
    reference (reader_study: Hodges-Lehmann, distribution-free 95 % interval) is >= the margin (non-inferiority by
    confidence interval, ICH E9; Piaggio et al. JAMA 2012;308:2594-2604); not judged, with the reason, when there is no
    result to judge. `results` is reader_results' list, or the key of READER_NOT_JUDGED saying why there is none."""
    margin = float(criterion["non_inferiority_margin"])
    text = reader_criterion_text(criterion, language)
    result = None
    if isinstance(results, str):
        reason = _words(READER_NOT_JUDGED[results], language)
    elif not results:
        reason = _words(READER_NOT_JUDGED["no_session"], language)
    else:
        result = next((r for r in results if r.get("criterion") == criterion["reader"]), None)
        reason = _words(READER_NOT_JUDGED["no_result"], language)
    low = None if result is None else result.get("ci_low")
    if result is not None and low is None:
        why = result.get("ci_not_computable_reason") or "—"
        reason = _words(READER_NOT_JUDGED["no_interval"], language).format(why=why)
    met = None if low is None else float(low) >= margin
    line = _words(READER_VERDICTS[met], language).format(
        criterion=text, reason=reason, margin=f"{margin:g}", n=(result or {}).get("n"),
        difference=_number((result or {}).get("median_difference")), low=_number(low), high=_number((result or {}).get("ci_high")))
    return {"criterion": text, "metric": f"reader:{criterion['reader']}", "bound": f"non_inferiority_margin {margin:g}",
            "pairs": len(rows), "pairs_judged": ((result or {}).get("n") or 0) if met is not None else 0, "pairs_met": None,
            "worst_value": None if low is None else float(low), "met": met, "conclusion": line}


def reader_rows(protocol: EvaluationProtocol) -> list[dict[str, Any]] | None:
    """The reader study's results per criterion (imaging.lowdose.reader_study: its latest complete session), None while
    that module is not installed. It checks no access: the caller asks `may` first (the numbers name the arms)."""
    try:
        from imaging.lowdose import reader_study
    except ImportError:
        return None
    return list(reader_study.reader_results(protocol))


def _p(value: Any) -> str | None:
    # As text with four significant digits: the formats round floats to four decimals (p = 0.000488 would read 0.0005).
    return None if value is None else f"{float(value):.4g}"


def reader_frame(results: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{**{c: r.get(c) for c in READER_COLUMNS}, "wilcoxon_p": _p(r.get("wilcoxon_p"))} for r in results],
                        columns=READER_COLUMNS)


def _figure(report: Report, vois: pd.DataFrame, language: str) -> None:
    from reports import plots  # matplotlib loads with the first report built, not at start-up

    panels = []
    for key in SUV_KEYS:
        reference, test = _paired(vois, f"{key}_reference", f"{key}_test")
        if not reference:
            continue
        result = bland_altman(reference, test)
        panels.append(plots.AgreementPanel(measure=key, means=[(a + b) / 2 for a, b in zip(reference, test, strict=True)],
                                           differences=[b - a for a, b in zip(reference, test, strict=True)], bias=result.bias,
                                           lower=result.lower_loa, upper=result.upper_loa))
    if panels:
        report.figures.append(Figure("bland_altman", "Bland-Altman: lesion SUV, test against reference",
                                     plots.bland_altman_plot(panels, unit="SUV", language=language)))


def build(user: User, params: dict[str, Any], progress: Progress) -> Report:
    protocol = EvaluationProtocol.objects.restrict(user, Action.VIEW).get(pk=params["protocol"])
    language = params.get("language", "en")
    report = Report("lowdose_validation", f"Low-dose validation: {protocol.name}", params)
    with translation.override("zh-hans" if display.is_zh(language) else "en"):  # the roles' labels, in the run's language
        report.notes.append(_words(ROLES_NOTE, language).format(reference=protocol.get_reference_role_display(),
                                                                test=protocol.get_test_role_display()))
    report.notes.append(gettext_noop("Every number is a stored evaluation (or a summary of them), with its method version. "
                                     "Pair, patient and VOI keys are pseudonymous. Patients who withdrew the use of their data "
                                     "by the reference date are excluded."))
    rows = keyed(pair_rows(user, params))
    evaluated = [r for r in rows if _evaluated(r)]
    if len(evaluated) < len(rows):
        report.notes.append(f"{len(rows) - len(evaluated)} pair(s) without stored metrics (not evaluated yet, or failed) are not analysed.")
    progress(30)
    pairs, vois = pair_frame(evaluated), voi_frame(evaluated)
    # Asked once, for the reader criteria's conclusions and the reader table: None when the user may not see reading
    # sessions (the numbers name the arms) or the reader study is not installed.
    shown = may(user, Action.VIEW, ReadingSession)
    results = reader_rows(protocol) if shown else None
    unavailable = "not_shown" if not shown else "not_installed"
    report.add("conclusions", "Conclusions on the pre-declared acceptance criteria",
               pd.DataFrame([reader_conclusion(c, unavailable if results is None else results, evaluated, language) if "reader" in c
                             else conclusion(c, evaluated, language) for c in protocol.acceptance_criteria], columns=CONCLUSION_COLUMNS)
               # A reader row has no pairs_met: nullable integers keep the metric rows' counts whole (3, not 3.0000).
               .astype({"pairs_met": "Int64"}),
               gettext_noop("A criterion is met when every evaluated pair with the value met it, as the evaluation judged it "
                            "(the worst lesion VOI of a pair decides); not judged when no pair has the value."))
    if any("reader" in c for c in protocol.acceptance_criteria):
        report.notes.append(gettext_noop(
            "A reader-study criterion (metric reader:...) is judged over the latest complete reader-study session, not per pair: "
            "non-inferior (met) when the lower bound of the 95 per cent interval of test - reference is at or above the "
            "pre-declared margin (ICH E9; Piaggio G et al., CONSORT extension for non-inferiority trials, JAMA "
            "2012;308:2594-2604). worst_value: that lower bound; pairs_judged: the children read."))
    report.add("metric_distributions", "Metric distributions over the evaluated pairs", distribution_frame(pairs, vois),
               gettext_noop("Median and quartiles: numpy linear interpolation. voi_*: one value per lesion VOI."))
    report.add("suv_agreement", "SUV agreement of the lesion VOIs (Bland-Altman)", agreement_frame(pairs, vois),
               gettext_noop("Bland JM, Altman DG. Lancet 1986;1(8476):307-310. Differences test - reference (SUV) or the "
                            "per cent biases (percent); 95 per cent limits of agreement: bias +/- 1.96 SD (sample SD)."))
    progress(50)
    _figure(report, vois, language)
    progress(70)
    if not shown:
        report.notes.append(gettext_noop("Reader results are shown to data managers of every hospital, who hold the blinded "
                                         "reading sessions."))
    else:
        if results is None:
            report.notes.append(gettext_noop("Reader results: the reader study is not available on this installation."))
        else:
            report.add("reader_results", "Reader study: image quality and lesion detectability", reader_frame(results),
                       gettext_noop("From the protocol's latest complete reader-study session, over every child it read (the "
                                    "hospital, date and withdrawal choices of this report do not apply to it). Median "
                                    "difference: Hodges-Lehmann estimate of test - reference with its distribution-free "
                                    "interval (ci_confidence: the confidence achieved); Wilcoxon signed-rank p; agreement "
                                    "between readers: Cohen's kappa."))
            if not results:
                report.notes.append(gettext_noop("Reader results: no reader-study session of this protocol is complete yet."))
    report.add("pairs", "Evaluated pairs and their stored metrics", pairs)
    report.add("lesion_vois", "Lesion VOIs: reference and test SUV and the stored bias", vois)
    progress(90)
    return report


LOWDOSE_VALIDATION = register_report_kind(ReportKind("lowdose_validation", gettext_lazy("Low-dose validation report"), authorise, build,
                                                     permit, offered_to=Rule.REPORT_SITE))
