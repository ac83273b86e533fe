"""Versioned code lists for registry fields (docs/clinical.md section 1, with sources).

Each list has a version and a source; a patient row records the code-list release it was coded
against (`Patient.codes_version`), so a later revision of a list never re-interprets old records.
"""
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

CODES_VERSION = "2026.1"


@dataclass(frozen=True)
class CodeList:
    name: str
    version: str
    source: str
    codes: tuple[tuple[str, str, str], ...]  # (code, English label, Chinese label)

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(code, en) for code, en, _ in self.codes]

    def __contains__(self, code: object) -> bool:
        return any(code == c for c, _, _ in self.codes)

    def validate(self, value: str) -> None:
        if value and value not in self:
            raise ValidationError(f"Unknown {self.name} code: {value!r}", code="unknown_code")

    @property
    def validator(self) -> "CodeValidator":
        return CodeValidator(self.name)


@deconstructible
class CodeValidator:
    """A model-field validator naming its list, so migrations record the list rather than a bound method."""

    def __init__(self, list_name: str) -> None:
        self.list_name = list_name

    def __call__(self, value: str) -> None:
        ALL[self.list_name].validate(value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CodeValidator) and other.list_name == self.list_name

    def __hash__(self) -> int:
        return hash(self.list_name)


SEX = CodeList("sex", "1", "HL7 administrative gender (subset)",
               (("M", "Male", "男"), ("F", "Female", "女"), ("U", "Unknown", "未知")))
INRGSS = CodeList("INRGSS stage", "2009", "Monclair T et al. J Clin Oncol 2009;27:298-303",
                  (("L1", "L1", "L1期"), ("L2", "L2", "L2期"), ("M", "M", "M期"), ("MS", "MS", "MS期")))
INSS = CodeList("INSS stage", "1993", "Brodeur GM et al. J Clin Oncol 1993;11:1466-77",
                (("1", "1", "1期"), ("2A", "2A", "2A期"), ("2B", "2B", "2B期"), ("3", "3", "3期"), ("4", "4", "4期"),
                 ("4S", "4S", "4S期")))
INRG_RISK = CodeList("INRG risk group", "2009", "Cohn SL et al. J Clin Oncol 2009;27:289-97",
                     (("very_low", "Very low", "极低危"), ("low", "Low", "低危"), ("intermediate", "Intermediate", "中危"),
                      ("high", "High", "高危")))
COG_RISK = CodeList("COG risk group", "2021", "Children's Oncology Group risk classification",
                    (("low", "Low", "低危"), ("intermediate", "Intermediate", "中危"), ("high", "High", "高危")))
MYCN = CodeList("MYCN status", "2009", "INRG biology (amplified = >4-fold over chromosome 2 reference)",
                (("amplified", "Amplified", "扩增"), ("not_amplified", "Not amplified", "未扩增"),
                 ("unknown", "Unknown", "未知")))
ABERRATION_11Q = CodeList("11q aberration", "2009", "INRG biology",
                          (("yes", "Present", "有"), ("no", "Absent", "无"), ("unknown", "Unknown", "未知")))
PLOIDY = CodeList("ploidy", "2009", "INRG biology",
                  (("hyperdiploid", "Hyperdiploid", "超二倍体"), ("diploid", "Diploid / hypodiploid", "二倍体/亚二倍体"),
                   ("unknown", "Unknown", "未知")))
HISTOLOGY = CodeList("INPC histology", "1999", "Shimada H et al. Cancer 1999;86:364-72",
                     (("favourable", "Neuroblastoma, favourable", "神经母细胞瘤，预后良好型"),
                      ("unfavourable", "Neuroblastoma, unfavourable", "神经母细胞瘤，预后不良型"),
                      ("gnb_nodular", "Ganglioneuroblastoma, nodular", "结节型节细胞神经母细胞瘤"),
                      ("gnb_intermixed", "Ganglioneuroblastoma, intermixed", "混杂型节细胞神经母细胞瘤"),
                      ("ganglioneuroma", "Ganglioneuroma", "节细胞神经瘤"), ("unknown", "Unknown", "未知")))
PRIMARY_SITE = CodeList("primary site", "1", "INRG data dictionary (grouped)",
                        (("adrenal", "Adrenal", "肾上腺"), ("abdomen_non_adrenal", "Abdomen, non-adrenal", "腹部（非肾上腺）"),
                         ("thorax", "Thorax", "胸部"), ("pelvis", "Pelvis", "盆腔"), ("neck", "Neck", "颈部"),
                         ("other", "Other", "其他"), ("unknown", "Unknown", "未知")))
RESPONSE = CodeList("disease status", "2017", "INRC, Park JR et al. J Clin Oncol 2017;35:2580-7",
                    (("CR", "Complete response", "完全缓解"), ("PR", "Partial response", "部分缓解"),
                     ("MR", "Minor response", "轻微缓解"), ("SD", "Stable disease", "疾病稳定"),
                     ("PD", "Progressive disease", "疾病进展"), ("NED", "No evidence of disease (off treatment)", "无疾病证据"),
                     ("relapse", "Relapse", "复发"), ("not_assessed", "Not assessed", "未评估")))

ALL = {c.name: c for c in (SEX, INRGSS, INSS, INRG_RISK, COG_RISK, MYCN, ABERRATION_11Q, PLOIDY, HISTOLOGY,
                           PRIMARY_SITE, RESPONSE)}
