"""How a report reads to a person: column headings and category labels in the reader's language, percentages to one
decimal, times in local time without microseconds, age bands with their unit.

Used by the report page, the PDF and the XLSX headings. The CSV and the JSON result keep the data's keys and codes
(they are for analysis, and the same in both languages). Labels come from the lists that define the codes (registry
code lists, the radiopharmaceutical catalogue, the models' choices), so a label is never invented here for a code
that has one elsewhere; headings are chosen by the report's language (a worker renders the PDF with no request), as
the PDF's section titles are (renderers.ZH_TITLES).
"""
import math
from datetime import date, datetime
from functools import cache
from typing import Any

from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime

ZH = "zh-hans"

# Column key -> (English, Chinese). Keys not listed read as themselves with "_" as spaces.
COLUMNS: dict[str, tuple[str, str]] = {
    "hospital": ("Hospital", "医院"), "province": ("Province", "省份"), "patients": ("Patients", "患者数"),
    "percent": ("%", "%"), "diagnosis_year": ("Year of diagnosis", "诊断年份"), "inrgss_stage": ("INRGSS stage", "INRGSS 分期"),
    "inrg_risk": ("INRG risk group", "INRG 危险度分组"), "cog_risk": ("COG risk group", "COG 危险度分组"),
    "mycn": ("MYCN status", "MYCN 状态"), "sex": ("Sex", "性别"),
    "age_band": ("Age at diagnosis", "诊断时年龄"), "age_band_at_diagnosis": ("Age at diagnosis", "诊断时年龄"),
    "consent_state": ("Registry consent", "登记知情同意"), "contact_withdrawn": ("Contact withdrawn", "已撤回联系"),
    "visits_due": ("Visits due", "应随访次数"), "done_in_window": ("Done in window", "窗口期内完成"),
    "done_outside_window": ("Done outside window", "窗口期外完成"), "missed": ("Missed", "失访"),
    "completeness_percent": ("Completeness %", "完成率 %"), "endpoint": ("Endpoint", "终点"), "group": ("Group", "分组"),
    "events": ("Events", "事件数"), "median_months": ("Median (months)", "中位数（月）"), "month": ("Month", "月"),
    "n_at_risk": ("At risk", "风险人数"), "survival": ("Survival", "生存率"), "ci_lower": ("95% CI lower", "95% CI 下限"),
    "ci_upper": ("95% CI upper", "95% CI 上限"), "year": ("Year", "年份"), "tracer": ("Tracer", "示踪剂"),
    "studies": ("Studies", "检查数"), "children": ("Children", "患儿数"), "median_msv": ("Median (mSv)", "中位数（mSv）"),
    "q1_msv": ("Q1 (mSv)", "Q1（mSv）"), "q3_msv": ("Q3 (mSv)", "Q3（mSv）"), "modality_group": ("Exam type", "检查类型"),
    "exams": ("Exams", "检查数"), "exams_with_dose": ("Exams with dose", "有剂量的检查数"), "complete": ("Complete", "完整"),
    "site": ("Site", "中心"), "activated_on": ("Activated on", "启动日期"), "target": ("Target", "目标"),
    "enrolled": ("Enrolled", "已入组"), "percent_of_target": ("% of target", "占目标 %"), "cumulative": ("Cumulative", "累计"),
    "step": ("Step", "步骤"), "arm": ("Arm", "组别"), "criterion": ("Criterion", "标准"), "count": ("Count", "数量"),
    "variable": ("Variable", "变量"), "category": ("Category", "类别"), "subjects": ("Subjects", "受试者数"),
    "q1_months": ("Q1 (months)", "Q1（月）"), "q3_months": ("Q3 (months)", "Q3（月）"),
    "subject_number": ("Subject", "受试者编号"), "dose_number": ("Dose", "给药次序"), "agent": ("Agent", "药物"),
    "administered_on": ("Administered on", "给药日期"), "net_activity_mbq": ("Net activity (MBq)", "净活度（MBq）"),
    "recommended_activity_mbq": ("Recommended (MBq)", "推荐活度（MBq）"), "deviation_percent": ("Deviation %", "偏差 %"),
    "above_threshold": ("Above threshold", "超过阈值"), "protocol_deviation": ("Protocol deviation", "方案偏离"),
    "effective_dose_msv": ("Effective dose (mSv)", "有效剂量（mSv）"), "doses": ("Doses", "给药次数"),
    "with_recommendation": ("With recommendation", "有推荐活度"), "within_threshold": ("Within threshold", "阈值内"),
    "protocol_deviations": ("Protocol deviations", "方案偏离数"),
    "median_deviation_percent": ("Median deviation %", "偏差中位数 %"), "soc": ("System organ class", "系统器官分类"),
    "term": ("Term", "术语"), "percent_of_arm": ("% of arm", "占该组 %"), "max_grade": ("Maximum grade", "最高分级"),
    "relatedness": ("Relatedness", "相关性"), "ae_number": ("AE", "不良事件编号"), "grade": ("Grade", "分级"),
    "onset_date": ("Onset", "发生日期"), "is_susar": ("SUSAR", "SUSAR"), "clock": ("Clock", "时限"),
    "due_at": ("Due", "截止时间"), "reported_at": ("Reported", "报告时间"), "clock_status": ("Clock status", "时限状态"),
    "open": ("Open", "未关闭"), "answered": ("Answered", "已回复"), "session": ("Session", "判读会话"),
    "read_arm": ("Arm read", "判读组别"), "scale": ("Scale", "量表"), "reads": ("Reads", "判读数"), "mean": ("Mean", "均值"),
    "median": ("Median", "中位数"), "q1": ("Q1", "Q1"), "q3": ("Q3", "Q3"), "unit": ("Unit", "单位"),
    "patient": ("Patient", "患者"), "reference_positive": ("Reference positive", "参考标准阳性"),
    "reference_source": ("Reference standard", "参考标准"), "read_a": ("Read A", "方法 A 判读"), "read_b": ("Read B", "方法 B 判读"),
    "method": ("Method", "方法"), "true_positive": ("True positive", "真阳性"), "false_positive": ("False positive", "假阳性"),
    "false_negative": ("False negative", "假阴性"), "true_negative": ("True negative", "真阴性"), "measure": ("Measure", "指标"),
    "correct": ("Correct", "正确数"), "units": ("Units", "单位数"), "ci_low_percent": ("95% CI lower %", "95% CI 下限 %"),
    "ci_high_percent": ("95% CI upper %", "95% CI 上限 %"), "both_correct": ("Both correct", "均正确"),
    "only_a_correct": ("Only A correct", "仅 A 正确"), "only_b_correct": ("Only B correct", "仅 B 正确"),
    "both_wrong": ("Both wrong", "均错误"), "exact_p": ("Exact p", "精确 p 值"), "chi2_cc": ("χ² (corrected)", "χ²（校正）"),
    "chi2_cc_p": ("χ² p", "χ² p 值"),
    # Low-dose validation and dose saved (reports.builders.lowdose_validation, reports.builders.dose_saving).
    "pair": ("Pair", "配对"), "grid": ("Grid", "网格"), "n_voxels": ("Voxels in the body mask", "体部掩膜体素数"),
    "nrmse": ("NRMSE", "NRMSE"), "psnr_db": ("PSNR (dB)", "PSNR（dB）"), "ssim": ("SSIM", "SSIM"),
    "suv_max_bias_percent": ("Whole-body SUVmax bias %", "全身 SUVmax 偏倚 %"),
    "liver_snr_reference": ("Liver SNR, reference", "肝脏 SNR（参考）"), "liver_snr_test": ("Liver SNR, test", "肝脏 SNR（测试）"),
    "liver_cv_reference": ("Liver CV, reference", "肝脏 CV（参考）"), "liver_cv_test": ("Liver CV, test", "肝脏 CV（测试）"),
    "lesion_vois": ("Lesion VOIs", "病灶 VOI 数"), "method_version": ("Method version", "方法版本"), "voi": ("VOI", "VOI"),
    "suv_max_reference": ("SUVmax, reference", "SUVmax（参考）"), "suv_max_test": ("SUVmax, test", "SUVmax（测试）"),
    "voi_suv_max_bias_percent": ("Lesion SUVmax bias %", "病灶 SUVmax 偏倚 %"),
    "suv_mean_reference": ("SUVmean, reference", "SUVmean（参考）"), "suv_mean_test": ("SUVmean, test", "SUVmean（测试）"),
    "voi_suv_mean_bias_percent": ("Lesion SUVmean bias %", "病灶 SUVmean 偏倚 %"),
    "suv_peak_reference": ("SUVpeak, reference", "SUVpeak（参考）"), "suv_peak_test": ("SUVpeak, test", "SUVpeak（测试）"),
    "voi_suv_peak_bias_percent": ("Lesion SUVpeak bias %", "病灶 SUVpeak 偏倚 %"),
    "metric": ("Metric", "指标"), "n": ("n", "n"), "min": ("Minimum", "最小值"), "max": ("Maximum", "最大值"),
    "difference_in": ("Differences in", "差值单位"), "mean_reference": ("Mean, reference", "均值（参考）"),
    "mean_test": ("Mean, test", "均值（测试）"),
    "bias": ("Bias", "偏倚"), "sd": ("SD", "标准差"), "lower_loa": ("Lower 95% limit of agreement", "95% 一致性界限下限"),
    "upper_loa": ("Upper 95% limit of agreement", "95% 一致性界限上限"), "label": ("Label", "名称"),
    "reference_median": ("Median, reference", "中位数（参考）"), "test_median": ("Median, test", "中位数（测试）"),
    "median_difference": ("Median difference", "中位数差值"), "ci_low": ("95% CI lower", "95% CI 下限"),
    "ci_high": ("95% CI upper", "95% CI 上限"), "ci_confidence": ("Confidence achieved", "实际置信度"),
    "wilcoxon_p": ("Wilcoxon p", "Wilcoxon p 值"), "agreement": ("Agreement", "一致性"),
    "agreement_method": ("Agreement method", "一致性方法"), "bound": ("Bound", "界值"), "pairs": ("Pairs", "配对数"),
    "pairs_judged": ("Pairs with the value", "具有该数值的配对数"), "pairs_met": ("Pairs meeting it", "满足的配对数"),
    "worst_value": ("Worst value", "最差值"), "met": ("Met", "达到"), "conclusion": ("Conclusion", "结论"),
    "exams_unknown": ("Exams without a saving", "无法计算节省的检查数"), "total_saving_msv": ("Total saving (mSv)", "节省总量（mSv）"),
    "median_saving_msv": ("Median saving (mSv)", "节省中位数（mSv）"), "median_saving_percent": ("Median saving %", "节省中位数 %"),
    "protocol_standard": ("Standard protocol", "标准方案"), "protocol_low_dose": ("Low-dose protocol", "低剂量方案"),
    "protocol_short_scan": ("Short-scan protocol", "短时扫描方案"), "protocol_unknown": ("Protocol not known", "方案未知"),
    "sedation_none": ("No sedation", "未镇静"), "sedation_sedation": ("Sedation", "镇静"),
    "sedation_general_anaesthesia": ("General anaesthesia", "全身麻醉"), "sedation_not_recorded": ("Sedation not recorded", "镇静未记录"),
    "protocol": ("Evaluation protocol", "评估方案"), "study_from": ("Studies from", "检查起始日期"),
    "study_to": ("Studies until", "检查截止日期"),
    # Report parameters (the run's page and the PDF's first line).
    "as_of": ("As of", "截至日期"), "hospitals": ("Hospitals", "医院"), "diagnosis_from": ("Diagnosed from", "诊断起始日期"),
    "diagnosis_to": ("Diagnosed until", "诊断截止日期"), "trial": ("Trial", "试验"), "trial_code": ("Trial", "试验"),
    "comparison": ("Reading comparison", "判读比较"), "language": ("Language of the PDF", "PDF 语言"),
}

# Words the builders write as values where no code list applies.
WORDS: dict[str, tuple[str, str]] = {
    "all": ("All", "全部"), "unknown": ("Unknown", "未知"), "": ("Not recorded", "未记录"),
    "blinded": ("Blinded", "盲态"), "not_randomised": ("Not randomised", "未随机"),
    "OS": ("Overall survival", "总生存"), "EFS": ("Event-free survival", "无事件生存"),
    "consented": ("Consented", "已同意"), "reconsent_due": ("Re-consent due", "需重新知情同意"),
    "adult_consent_due": ("Adult consent due", "需成年后本人同意"), "no_valid_consent": ("No valid consent", "无有效知情同意"),
    "screened_patients": ("Patients screened", "筛选患者数"), "screenings": ("Screenings", "筛选次数"),
    "screen_failures": ("Screen failures", "筛选失败"), "screen_failure_by_criterion": ("Screen failures by criterion", "按标准统计的筛选失败"),
    "randomised": ("Randomised", "已随机"), "completed": ("Completed", "已完成"), "withdrawn": ("Withdrawn", "已退出"),
    "on_study": ("On study", "在研"), "sensitivity": ("Sensitivity", "灵敏度"), "specificity": ("Specificity", "特异度"),
    "en": ("English", "英文"), "zh-hans": ("Simplified Chinese", "简体中文"),
    # Metrics and measures of the low-dose validation report.
    "nrmse": ("NRMSE", "NRMSE"), "psnr_db": ("PSNR (dB)", "PSNR（dB）"), "ssim": ("SSIM", "SSIM"),
    "suv_max_bias_percent": ("Whole-body SUVmax bias", "全身 SUVmax 偏倚"),
    "liver_snr_reference": ("Liver SNR, reference", "肝脏 SNR（参考）"), "liver_snr_test": ("Liver SNR, test", "肝脏 SNR（测试）"),
    "liver_cv_reference": ("Liver CV, reference", "肝脏 CV（参考）"), "liver_cv_test": ("Liver CV, test", "肝脏 CV（测试）"),
    "voi_suv_max_bias_percent": ("Lesion SUVmax bias", "病灶 SUVmax 偏倚"),
    "voi_suv_mean_bias_percent": ("Lesion SUVmean bias", "病灶 SUVmean 偏倚"),
    "voi_suv_peak_bias_percent": ("Lesion SUVpeak bias", "病灶 SUVpeak 偏倚"),
    "suv_max": ("SUVmax", "SUVmax"), "suv_mean": ("SUVmean", "SUVmean"), "suv_peak": ("SUVpeak", "SUVpeak"),
    "whole_body_suv_max": ("Whole-body SUVmax", "全身 SUVmax"), "suv": ("SUV", "SUV"), "percent": ("Per cent", "百分比"),
}
YES_NO = {True: ("Yes", "是"), False: ("No", "否")}
# Age bands (reports.builders.common.AGE_BANDS) with their unit.
AGE_BAND_WORDS = {"<12": ("<12 months", "<12 个月"), "12-<18": ("12 to <18 months", "12 至 <18 个月"),
                  "18-<60": ("18 to <60 months", "18 至 <60 个月"), ">=60": ("≥60 months", "≥60 个月")}
# Columns whose values are the words above (and booleans), beyond those with a code list.
WORD_COLUMNS = {"group", "arm", "read_arm", "endpoint", "consent_state", "step", "measure", "site", "age_band",
                "age_band_at_diagnosis", "tracer", "agent", "modality_group", "language", "metric", "difference_in"}
PROBABILITY_COLUMNS = {"survival", "ci_lower", "ci_upper"}
TEXT_COLUMNS = {"exact_p", "chi2_cc_p", "year", "diagnosis_year", "month", "subject_number", "unit", "patient", "session"}


def is_zh(language: str | None) -> bool:
    return (language or "").lower().replace("_", "-").startswith("zh")


def _pick(pair: tuple[str, str], language: str | None) -> str:
    return pair[1] if is_zh(language) else pair[0]


def column_label(key: str, language: str | None) -> str:
    pair = COLUMNS.get(key)
    return _pick(pair, language) if pair else key.replace("_", " ")


@cache
def _choice_lists() -> dict[str, dict[str, tuple[Any, Any]]]:
    """Column -> code -> (English, Chinese or a lazy label), from the lists that define the codes."""
    from imaging.models import ImagingStudy
    from nucmed.radiopharmaceuticals import CATALOGUE
    from registry import codelists as cl
    from trials.safety.ae_form import Relatedness
    from trials.safety.models import ReportingClock

    def codelist(lst) -> dict[str, tuple[Any, Any]]:  # type: ignore[no-untyped-def]
        return {code: (en, zh) for code, en, zh in lst.codes}

    def choices(cls) -> dict[str, tuple[Any, Any]]:  # type: ignore[no-untyped-def]
        return {value: (label, label) for value, label in cls.choices}  # lazy: translated when rendered

    tracers = {r.code: (r.name, r.name) for r in CATALOGUE}
    lists = {"sex": codelist(cl.SEX), "inrgss_stage": codelist(cl.INRGSS), "inrg_risk": codelist(cl.INRG_RISK),
             "cog_risk": codelist(cl.COG_RISK), "mycn": codelist(cl.MYCN), "tracer": tracers, "agent": tracers,
             "modality_group": choices(ImagingStudy.ModalityGroup), "relatedness": choices(Relatedness),
             "clock": choices(ReportingClock.Kind), "clock_status": choices(ReportingClock.Status)}
    lists["group"] = lists["inrg_risk"]
    return lists


def value_label(column: str, value: Any, language: str | None, *, row: dict[str, Any] | None = None) -> str | None:
    """The label of a coded value, or None when the value is not a code with a label (then it is shown as it is)."""
    if isinstance(value, bool):
        return _pick(YES_NO[value], language)
    if not isinstance(value, str):
        return None
    if column == "category" and row is not None:  # baseline rows: the code list is the row's variable
        column = str(row.get("variable", ""))
    lists = _choice_lists()
    if value == "" and column in lists:
        return _pick(WORDS[""], language)
    found = lists.get(column, {}).get(value)
    if found is not None:
        with translation.override("zh-hans" if is_zh(language) else "en"):
            return str(_pick(found, language))
    if column in {"age_band", "age_band_at_diagnosis"} and value in AGE_BAND_WORDS:
        return _pick(AGE_BAND_WORDS[value], language)
    if column in WORD_COLUMNS | {"consent_state"} and value in WORDS:
        return _pick(WORDS[value], language)
    if column == "variable" and value in COLUMNS:
        return column_label(value, language)
    return None


def _local_time(value: str) -> str | None:
    """An ISO date-time (as the JSON result carries it) in the platform's local time, to the minute; None if not one."""
    if "T" not in value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
    return timezone.localtime(parsed).strftime("%Y-%m-%d %H:%M")


def number(column: str, value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return ""
    if "percent" in column or column == "percent":
        return f"{value:.1f}"
    if column in PROBABILITY_COLUMNS:
        return f"{value:.3f}"
    return f"{value:.2f}"


def cell_text(column: str, value: Any, language: str | None, *, row: dict[str, Any] | None = None) -> str:
    """One cell as a person reads it (the CSV writes the value itself: renderers.to_csv)."""
    if value is None:
        return ""
    label = value_label(column, value, language, row=row)
    if label is not None:
        return label
    if isinstance(value, float | int) and not isinstance(value, bool):
        return number(column, value)
    if isinstance(value, datetime):
        return timezone.localtime(value if timezone.is_aware(value) else timezone.make_aware(value)).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return _local_time(value) or value
    return str(value)


def table(columns: list[str], rows: list[list[Any]], language: str | None) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Headings and rows of (text, numeric) cells, for the page and the PDF."""
    heads = [column_label(c, language) for c in columns]
    out = []
    for values in rows:
        record = dict(zip(columns, values, strict=False))
        out.append([(cell_text(c, v, language, row=record),
                     isinstance(v, int | float) and not isinstance(v, bool) and c not in TEXT_COLUMNS)
                    for c, v in zip(columns, values, strict=False)])
    return heads, out


def param_items(params: dict[str, Any], language: str | None) -> list[tuple[str, str]]:
    """The run's parameters as (label, text): the trial's id is left out when its code is there."""
    items = []
    for key, value in params.items():
        if value is None or (key == "trial" and "trial_code" in params):
            continue
        text = ", ".join(str(v) for v in value) if isinstance(value, list) else (value_label(key, value, language) or str(value))
        items.append((column_label(key, language), text))
    return items


def heading(key: str, english: str, language: str | None) -> str:
    """A section's or figure's title in the language (the PDF's Chinese titles); the English one when none is known."""
    from reports.renderers import ZH_TITLES

    return ZH_TITLES.get(key, english) if is_zh(language) else english


def note(text: str, language: str | None) -> str:
    """A report's or section's note in the language. The builders write their fixed notes in English and mark them
    (gettext_noop), so the stored English is the catalogue's message id and is translated here, where it is shown
    (page, PDF, XLSX): runs stored before a note was marked, notes carrying data (a comparison's method names) and
    notes with no translation read as stored."""
    if not text or not is_zh(language):
        return text
    with translation.override("zh-hans"):
        return translation.gettext(text)
