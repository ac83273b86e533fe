"""Modality Worklist C-FIND SCP: the scheduled exams of the calling node's hospital, one worklist item each.

An item names the child by study ID only (PatientID and PatientName), with sex, birth date and the weight the
recommendation was computed for, the accession number that brings the images back to the exam, and the scheduled
procedure step with the radiopharmaceutical and the activity recommended for this child's weight.
"""
import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

from django.utils import timezone
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pynetdicom import evt

from imaging.dimse.handlers import release_database
from imaging.models import ScheduledExam

logger = logging.getLogger(__name__)
_PENDING, _SUCCESS, _CANCEL, _UNABLE = 0xFF00, 0x0000, 0xFE00, 0xC001


def _text(ds: Dataset | None, keyword: str) -> str:
    return str(getattr(ds, keyword, "") or "").strip() if ds is not None else ""


def _day(value: str) -> date | None:
    return date(int(value[:4]), int(value[4:6]), int(value[6:8])) if len(value) >= 8 and value[:8].isdigit() else None


def _matching(hospital_id: int, query: Dataset) -> list[ScheduledExam]:
    """Single-value and wildcard-free matching on the keys a modality sends (PS3.4 K.2.2.1): empty keys match all."""
    step = query.ScheduledProcedureStepSequence[0] if "ScheduledProcedureStepSequence" in query and \
        query.ScheduledProcedureStepSequence else None
    exams = ScheduledExam.objects.filter(patient__hospital_id=hospital_id, state=ScheduledExam.State.SCHEDULED) \
        .select_related("patient")
    if (patient_id := _text(query, "PatientID").rstrip("*")):
        exams = exams.filter(patient__study_id__startswith=patient_id)
    if (accession := _text(query, "AccessionNumber").rstrip("*")):
        exams = exams.filter(accession_number__startswith=accession)
    if (modality := _text(step, "Modality")):
        exams = exams.filter(modality=modality)
    if (station := _text(step, "ScheduledStationAETitle").rstrip("*")):
        exams = exams.filter(station_ae_title__in=[station, ""])  # an exam for no station in particular shows on every one
    if (when := _text(step, "ScheduledProcedureStepStartDate")):
        first, dash, last = when.partition("-")  # a date, or a range "first-last" with either end open
        if (start := _day(first)) is not None:
            exams = exams.filter(scheduled_for__date__gte=start)
        if (end := _day(last if dash else first)) is not None:
            exams = exams.filter(scheduled_for__date__lte=end)
    return list(exams)


def worklist_item(exam: ScheduledExam) -> Dataset:
    patient = exam.patient
    when = timezone.localtime(exam.scheduled_for)
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientID = patient.study_id
    ds.PatientName = patient.study_id  # the study ID, never a name: the images come back labelled with it
    ds.PatientSex = {"F": "F", "M": "M"}.get(str(patient.sex), "O")
    ds.PatientBirthDate = patient.birth_date.strftime("%Y%m%d") if patient.birth_date else ""
    if exam.weight_kg:
        ds.PatientWeight = f"{exam.weight_kg:.1f}"
    ds.AccessionNumber = exam.accession_number
    ds.RequestedProcedureID = exam.accession_number
    ds.RequestedProcedureDescription = f"{exam.get_tracer_display()} {exam.modality}"[:64]
    step = Dataset()
    step.Modality = exam.modality
    step.ScheduledStationAETitle = exam.station_ae_title
    step.ScheduledProcedureStepStartDate = when.strftime("%Y%m%d")
    step.ScheduledProcedureStepStartTime = when.strftime("%H%M%S")
    step.ScheduledProcedureStepID = exam.accession_number
    activity = f"{exam.recommended_mbq:.1f} MBq recommended for {exam.weight_kg:.1f} kg" if exam.recommended_mbq else \
        "no recommended activity"
    step.ScheduledProcedureStepDescription = f"{exam.tracer} {activity}"[:64]
    # The whole recommendation (table and row) for the technologist: the step description is only 64 characters.
    step.CommentsOnTheScheduledProcedureStep = f"{exam.get_tracer_display()}: {activity}. {exam.recommendation_note}"[:10240]
    ds.ScheduledProcedureStepSequence = Sequence([step])
    return ds


def on_find(event: Any) -> Iterator[tuple[int, Dataset | None]]:
    state = getattr(event.assoc, "nbnm_state", None)
    if state is None:
        yield _UNABLE, None
        return
    try:
        exams = _matching(state.node.hospital_id, event.identifier)
    finally:
        release_database()
    logger.info("worklist query from node %s: %s items", state.node.pk, len(exams))
    for exam in exams:
        if event.is_cancelled:
            yield _CANCEL, None
            return
        yield _PENDING, worklist_item(exam)


WORKLIST_HANDLERS: list[tuple[Any, Any]] = [(evt.EVT_C_FIND, on_find)]
