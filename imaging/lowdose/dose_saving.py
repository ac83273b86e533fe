"""Dose saved per PET exam: the effective dose received against what the dosage table's recommended activity for the
child's weight would have given, with the exam's protocol and sedation; the programme summary per tracer, hospital and
year (totals, medians, and how many exams of each protocol and sedation).

Moved out of imaging.lowdose.services (the pair finding) so the two change independently.
"""
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from imaging.models import DoseResult, ImagingStudy
from nucmed import effective_dose
from registry.access import Action
from registry.models import User


@dataclass(frozen=True)
class DoseSaving:
    study_id: int
    tracer: str
    hospital: str
    year: int | None
    received_msv: float | None
    standard_activity_mbq: float | None
    standard_msv: float | None  # the effective dose the dosage table's activity for the child's weight would have given
    saving_msv: float | None  # standard - received (negative: more than the standard)
    not_available_reason: str
    saving_percent: float | None = None  # saving_msv as a percentage of standard_msv
    study_date: date | None = None
    weight_kg: float | None = None
    administered_activity_mbq: float | None = None
    protocol: str = ImagingStudy.AcquisitionProtocol.UNKNOWN  # ImagingStudy.acquisition_protocol
    sedation: str = ImagingStudy.Sedation.NOT_RECORDED


def dose_saving(dose: DoseResult) -> DoseSaving:
    """Effective dose received against the dosage table's recommended activity for this child's weight (same coefficient)."""
    study = dose.study
    common = {"study_id": study.pk, "tracer": dose.tracer, "hospital": study.patient.hospital.code,
              "year": study.study_date.year if study.study_date else None, "received_msv": dose.radiopharmaceutical_msv,
              "standard_activity_mbq": dose.recommended_activity_mbq, "study_date": study.study_date, "weight_kg": dose.weight_kg,
              "administered_activity_mbq": dose.administered_activity_mbq, "protocol": study.acquisition_protocol,
              "sedation": study.sedation}
    if dose.recommended_activity_mbq is None:
        return DoseSaving(**common, standard_msv=None, saving_msv=None,
                          not_available_reason=dose.recommendation_not_available or _("No recommended activity for this exam."))
    if dose.radiopharmaceutical_msv is None or dose.age_years is None:
        return DoseSaving(**common, standard_msv=None, saving_msv=None,
                          not_available_reason=dose.radiopharmaceutical_not_available or _("No effective dose for this exam."))
    try:
        standard = effective_dose.radiopharmaceutical_effective_dose(agent_code=dose.tracer, activity_mbq=dose.recommended_activity_mbq,
                                                                     age_years=dose.age_years)
    except ValueError as exc:
        return DoseSaving(**common, standard_msv=None, saving_msv=None, not_available_reason=str(exc))
    if standard.msv is None:
        return DoseSaving(**common, standard_msv=None, saving_msv=None, not_available_reason=standard.not_available_reason or "")
    saving = standard.msv - dose.radiopharmaceutical_msv
    return DoseSaving(**common, standard_msv=standard.msv, saving_msv=saving, not_available_reason="",
                      saving_percent=100.0 * saving / standard.msv if standard.msv else None)


def pet_doses(user: User) -> QuerySet[DoseResult]:
    return (DoseResult.objects.restrict(user, Action.VIEW).filter(study__modality_group=ImagingStudy.ModalityGroup.PET_CT)
            .select_related("study__patient__hospital").order_by("study_id"))


@dataclass(frozen=True)
class SavingTotals:
    """One child's (or any set of exams') total: sums over the exams whose saving is known, and how many are not."""

    exams: int
    exams_unknown: int
    received_msv: float | None
    standard_msv: float | None
    saving_msv: float | None
    saving_percent: float | None


def saving_totals(savings: list[DoseSaving]) -> SavingTotals:
    known = [s for s in savings if s.saving_msv is not None]
    unknown = len(savings) - len(known)
    if not known:
        return SavingTotals(0, unknown, None, None, None, None)
    received = sum(s.received_msv or 0.0 for s in known)
    standard = sum(s.standard_msv or 0.0 for s in known)
    saving = sum(s.saving_msv or 0.0 for s in known)
    return SavingTotals(len(known), unknown, received, standard, saving, 100.0 * saving / standard if standard else None)


# The summary's count columns: every exam of the group (its saving known or not) by protocol and by sedation.
PROTOCOL_COUNT_KEYS = {value: f"protocol_{value}" for value in ImagingStudy.AcquisitionProtocol.values}
SEDATION_COUNT_KEYS = {value: f"sedation_{value}" for value in ImagingStudy.Sedation.values}


def dose_saving_summary(savings: Iterable[DoseSaving]) -> list[dict[str, Any]]:
    """Total and median saving (mSv) per tracer, hospital and year, of the exams where it is known; with every exam of
    the group counted by protocol (protocol_standard, ...) and by sedation (sedation_none, sedation_sedation,
    sedation_general_anaesthesia, sedation_not_recorded)."""
    groups: dict[tuple[str, str, int | None], list[DoseSaving]] = defaultdict(list)
    for s in savings:
        groups[(s.tracer, s.hospital, s.year)].append(s)
    rows = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2] or 0)):
        exams = groups[key]
        values = [s.saving_msv for s in exams if s.saving_msv is not None]
        percents = [s.saving_percent for s in exams if s.saving_percent is not None]
        row: dict[str, Any] = {
            "tracer": key[0], "hospital": key[1], "year": key[2], "exams": len(values), "exams_unknown": len(exams) - len(values),
            "total_saving_msv": sum(values) if values else None, "median_saving_msv": statistics.median(values) if values else None,
            "median_saving_percent": statistics.median(percents) if percents else None}
        row.update({name: sum(1 for s in exams if s.protocol == value) for value, name in PROTOCOL_COUNT_KEYS.items()})
        row.update({name: sum(1 for s in exams if s.sedation == value) for value, name in SEDATION_COUNT_KEYS.items()})
        rows.append(row)
    return rows
