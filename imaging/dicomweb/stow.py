"""STOW-RS on top of the ingest service: resolve each part's patient, ingest, answer with the PS3.18 dataset."""
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydicom
from rest_framework import exceptions

from imaging.dicomweb import json as dj
from imaging.models import Instance, Upload
from imaging.services.ingest import IncomingFile, ingest
from imaging.services.receipts import receipts_patient, receipts_receive
from registry.errors import ApplicationError
from registry.models import Patient, User


@dataclass
class StowResult:
    body: dict[str, Any]
    status: int
    headers: dict[str, str] = field(default_factory=dict)


def _peek(part: IncomingFile) -> dict[str, str]:
    """The part's own SOP class/instance UIDs and PatientID, for routing and for failure reports."""
    try:
        ds = pydicom.dcmread(part.path if part.data is None else io.BytesIO(part.data), stop_before_pixels=True,
                             specific_tags=["SOPClassUID", "SOPInstanceUID", "PatientID"])
    except Exception:  # noqa: BLE001 - unreadable parts are reported by the ingest's own validation
        return {}
    return {"class": str(ds.get("SOPClassUID", "") or ""), "uid": str(ds.get("SOPInstanceUID", "") or ""),
            "patient": str(ds.get("PatientID", "") or "")}


def _by_patient(parts: list[IncomingFile], patient_hint: str | None,
                peek: Callable[[IncomingFile], dict[str, str]]) -> dict[str, list[IncomingFile]]:
    """The parts by the study ID they are for: the request's (`?patient=`, `X-Patient-ID`), else each part's PatientID."""
    groups: dict[str, list[IncomingFile]] = defaultdict(list)
    for part in parts:
        groups[patient_hint or peek(part).get("patient", "")].append(part)
    return groups


def _named(study_id: str) -> str:
    if not study_id:
        raise ApplicationError("No platform study ID: give it as PatientID, ?patient= or X-Patient-ID.", code="no_patient")
    return study_id


def stow_store(*, actor: User, parts: list[IncomingFile], patient_hint: str | None,
               find_patient: Callable[[str], Patient], base: str) -> StowResult:
    referenced: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    warnings: list[str] = []
    # A part is read ahead of the ingest only when needed: for its PatientID when no patient is named, and
    # for a failure report's own UIDs. A stored part's class and UID come from its row.
    peeks: dict[str, dict[str, str]] = {}

    def peek_of(part: IncomingFile) -> dict[str, str]:
        if part.name not in peeks:
            peeks[part.name] = _peek(part)
        return peeks[part.name]

    groups = _by_patient(parts, patient_hint, peek_of)

    def fail(part: IncomingFile, code: int) -> None:
        peek = peek_of(part)
        failed.append({"00081150": dj.attr("UI", peek.get("class") or None),
                       "00081155": dj.attr("UI", peek.get("uid") or None), "00081197": dj.attr("US", code)})

    study_urls: set[str] = set()
    for study_id, group in groups.items():
        try:
            patient = find_patient(_named(study_id))
            upload = ingest(actor=actor, patient=patient, source=Upload.Source.STOW, files=group)
        except (ApplicationError, exceptions.APIException) as exc:
            warnings.append(getattr(exc, "message", None) or str(getattr(exc, "detail", exc)))
            for part in group:
                fail(part, dj.PROCESSING_FAILURE)
            continue
        by_name = {item["file"]: item for item in upload.items}
        stored = [item["sop_instance_uid"] for item in upload.items if item["outcome"] in ("accepted", "duplicate", "quarantined")]
        known = getattr(upload, "locations", {})  # what the ingest just filed, so no query
        located = known if all(uid in known for uid in stored) else _locate_all(upload, stored)
        for part in group:
            item = by_name.get(part.name, {"outcome": "rejected", "code": "not_dicom"})
            if item["outcome"] in ("accepted", "duplicate", "quarantined"):
                uid = item["sop_instance_uid"]
                study, series, sop_class = located[uid]
                study_urls.add(f"{base}/studies/{study}")
                referenced.append({
                    "00081150": dj.attr("UI", sop_class or None),
                    "00081155": dj.attr("UI", uid),
                    "00081190": dj.attr("UR", f"{base}/studies/{study}/series/{series}/instances/{uid}"),
                    "00081196": dj.attr("US", dj.COERCION_OF_DATA_ELEMENTS),
                })
            else:
                if item.get("reason"):
                    warnings.append(f"{part.name}: {item['reason']}")
                fail(part, dj.FAILURE_FOR_CODE.get(item.get("code", ""), dj.PROCESSING_FAILURE))
    body: dict[str, Any] = {}
    if len(study_urls) == 1:
        body["00081190"] = dj.attr("UR", next(iter(study_urls)))
    if referenced:
        body["00081199"] = {"vr": "SQ", "Value": referenced}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    status = 200 if not failed else (202 if referenced else 409)
    headers = {"Warning": "; ".join(f'299 nbnm "{w}"' for w in warnings[:20])} if warnings else {}
    return StowResult(body, status, headers)


def stow_receive(*, actor: User, parts: list[IncomingFile], patient_hint: str | None,
                 find_patient: Callable[[str], Patient], answer: Callable[[Any, Patient], dict[str, Any]]) -> StowResult:
    """STOW-RS with `Prefer: respond-async`: the parts acknowledged once spooled (imaging.services.receipts), grouped by
    patient as stow_store groups them; 202 with a receipt per part (`answer` writes one), and per refused group its
    parts with the code and the reason (409 when every part was refused). Not a PS3.18 response dataset: what became
    of each instance is known once it is filed, on its receipt."""
    groups = _by_patient(parts, patient_hint, _peek)
    receipts: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for study_id, group in groups.items():
        try:
            patient = receipts_patient(actor=actor, study_id=_named(study_id), find=find_patient)
            received = receipts_receive(actor=actor, patient=patient, source=Upload.Source.STOW, files=group)
        except (ApplicationError, exceptions.APIException) as exc:
            code = getattr(exc, "code", None) or getattr(exc, "default_code", "refused")
            message = getattr(exc, "message", None) or str(getattr(exc, "detail", exc))
            refused += [{"file": p.name, "code": code, "message": message} for p in group]
            continue
        receipts += [answer(r, patient) for r in received]
    return StowResult({"receipts": receipts, "refused": refused}, 202 if receipts else 409,
                      {"Preference-Applied": "respond-async"})


def _locate_all(upload: Upload, sop_uids: list[str]) -> dict[str, tuple[str, str, str]]:
    """SOP instance UID -> (study UID, series UID, SOP class UID) of the upload's patient's stored instances, in one
    query for the whole upload (the SOP class is kept by de-identification: the row's is the part's). Only this
    patient's: a part is never answered with a place in another patient's hierarchy."""
    rows = Instance.objects.filter(patient_id=upload.patient_id, sop_instance_uid__in=sop_uids).values_list(
        "sop_instance_uid", "series__study__study_uid", "series__series_uid", "sop_class_uid")
    return {sop: (study, series, sop_class) for sop, study, series, sop_class in rows}
