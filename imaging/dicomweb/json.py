"""DICOM JSON (PS3.18 F.2) for the few attributes DICOMweb responses carry."""
from typing import Any

# FailureReason values (PS3.18 table 10.5.3-1 / PS3.4 C.4.2.1.4)
PROCESSING_FAILURE = 0x0110
SOP_CLASS_NOT_SUPPORTED = 0x0122
OUT_OF_RESOURCES = 0xA700
DATASET_DOES_NOT_MATCH_SOP_CLASS = 0xA900
CANNOT_UNDERSTAND = 0xC000
# WarningReason: every stored instance had data elements coerced (it was de-identified on ingest).
COERCION_OF_DATA_ELEMENTS = 0xB000

TRANSFER_SYNTAX_NOT_SUPPORTED = 0xC122
FAILURE_FOR_CODE = {
    "not_dicom": CANNOT_UNDERSTAND, "truncated": CANNOT_UNDERSTAND, "empty": CANNOT_UNDERSTAND,
    "corrupt": CANNOT_UNDERSTAND, "too_large": OUT_OF_RESOURCES, "modality_not_allowed": SOP_CLASS_NOT_SUPPORTED,
    "unsupported_transfer_syntax": TRANSFER_SYNTAX_NOT_SUPPORTED, "missing_uid": DATASET_DOES_NOT_MATCH_SOP_CLASS,
    "invalid_uid": DATASET_DOES_NOT_MATCH_SOP_CLASS, "missing_modality": DATASET_DOES_NOT_MATCH_SOP_CLASS,
    "missing_pixel_data": DATASET_DOES_NOT_MATCH_SOP_CLASS, "missing_content": DATASET_DOES_NOT_MATCH_SOP_CLASS,
}


def attr(vr: str, *values: Any) -> dict[str, Any]:
    return {"vr": vr, "Value": list(values)} if values and values != (None,) else {"vr": vr}


def study_json(study: Any, base: str) -> dict[str, Any]:
    return {
        "00080020": attr("DA", study.study_date.strftime("%Y%m%d") if study.study_date else None),
        "00080061": attr("CS", *sorted({s.modality for s in study.series.all()})),
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": study.patient.study_id}]},
        "00100020": attr("LO", study.patient.study_id),
        "0020000D": attr("UI", study.study_uid),
        "00201206": attr("IS", len(study.series.all())),
        "00201208": attr("IS", sum(s.number_of_instances for s in study.series.all())),
        "00081190": attr("UR", f"{base}/studies/{study.study_uid}"),
    }


def series_json(series: Any, base: str) -> dict[str, Any]:
    return {
        "00080060": attr("CS", series.modality),
        "0008103E": attr("LO", series.description or None),
        "0020000D": attr("UI", series.study.study_uid),
        "0020000E": attr("UI", series.series_uid),
        "00200011": attr("IS", series.series_number),
        "00201209": attr("IS", series.number_of_instances),
        "00081190": attr("UR", f"{base}/studies/{series.study.study_uid}/series/{series.series_uid}"),
    }


def instance_json(instance: Any, base: str) -> dict[str, Any]:
    series = instance.series
    return {
        "00080016": attr("UI", instance.sop_class_uid),
        "00080018": attr("UI", instance.sop_instance_uid),
        "0020000D": attr("UI", series.study.study_uid),
        "0020000E": attr("UI", series.series_uid),
        "00200013": attr("IS", instance.instance_number),
        "00081190": attr("UR", f"{base}/studies/{series.study.study_uid}/series/{series.series_uid}"
                               f"/instances/{instance.sop_instance_uid}"),
    }
