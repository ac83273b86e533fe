"""Dose saved per PET exam: the effective dose received against what the dosage table's recommended activity for the
child's weight would have given, and the programme summary per tracer, hospital and year.

Moved out of imaging.lowdose.services (the pair finding) so the two change independently.
"""
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
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


def dose_saving(dose: DoseResult) -> DoseSaving:
    """Effective dose received against the dosage table's recommended activity for this child's weight (same coefficient)."""
    study = dose.study
    common = {"study_id": study.pk, "tracer": dose.tracer, "hospital": study.patient.hospital.code,
              "year": study.study_date.year if study.study_date else None, "received_msv": dose.radiopharmaceutical_msv,
              "standard_activity_mbq": dose.recommended_activity_mbq}
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
    return DoseSaving(**common, standard_msv=standard.msv, saving_msv=standard.msv - dose.radiopharmaceutical_msv, not_available_reason="")


def pet_doses(user: User) -> QuerySet[DoseResult]:
    return (DoseResult.objects.restrict(user, Action.VIEW).filter(study__modality_group=ImagingStudy.ModalityGroup.PET_CT)
            .select_related("study__patient__hospital").order_by("study_id"))


def dose_saving_summary(savings: Iterable[DoseSaving]) -> list[dict[str, Any]]:
    """Total and median saving (mSv) per tracer, hospital and year, of the exams where it is known."""
    groups: dict[tuple[str, str, int | None], list[float]] = defaultdict(list)
    unknown: dict[tuple[str, str, int | None], int] = defaultdict(int)
    for s in savings:
        key = (s.tracer, s.hospital, s.year)
        if s.saving_msv is None:
            unknown[key] += 1
        else:
            groups[key].append(s.saving_msv)
    rows = []
    for key in sorted(set(groups) | set(unknown), key=lambda k: (k[0], k[1], k[2] or 0)):
        values = groups.get(key, [])
        rows.append({"tracer": key[0], "hospital": key[1], "year": key[2], "exams": len(values), "exams_unknown": unknown.get(key, 0),
                     "total_saving_msv": sum(values) if values else None, "median_saving_msv": statistics.median(values) if values else None})
    return rows
