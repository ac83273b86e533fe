"""Reads of imaging analysis results, scoped to the user."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import F
from django.utils.translation import gettext as _

from imaging.models import ImagingStudy
from registry.access import Action
from registry.models import Patient

if TYPE_CHECKING:
    from registry.access import UserLike


@dataclass
class DoseHistory:
    patient: Patient
    exams: list[dict[str, Any]] = field(default_factory=list)
    cumulative_msv: float = 0.0
    complete: bool = True  # every exam has both its radiopharmaceutical and (if any) CT dose
    held: list[ImagingStudy] = field(default_factory=list)  # studies on hold: not in exams or the total until released


def patient_dose_history(*, user: UserLike, patient: Patient) -> DoseHistory:
    """Every exam of the child in the registry (oldest first, undated last, on hold left out) with its doses and the running total.

    The total adds what is known; an exam whose dose is not (fully) available is listed with the reason and
    makes the history incomplete, so a reader never takes a partial sum for the child's whole exposure.
    """
    # Undated exams come last on every database (SQLite sorts NULL first, PostgreSQL last), so the running total of
    # dated exams is theirs alone.
    studies = (ImagingStudy.objects.restrict(user, Action.VIEW).filter(patient=patient).select_related("dose")
               .order_by(F("study_date").asc(nulls_last=True), "id"))
    history = DoseHistory(patient=patient)
    running = 0.0
    for study in studies:
        if study.status == ImagingStudy.Status.ON_HOLD:
            # Possibly another child's images: counted for nothing (exams, doses, total) until released; listed apart.
            history.held.append(study)
            continue
        dose = getattr(study, "dose", None)
        total = dose.total_msv if dose is not None else None
        running += total or 0.0
        complete = dose is not None and dose.complete
        history.complete &= complete
        missing = [] if dose is not None else [_("The dose has not been computed yet (pipeline pending).")]
        if dose is not None:
            missing += [r for r in (dose.radiopharmaceutical_not_available, dose.ct_not_available) if r]
        history.exams.append({
            "study": study.pk, "study_uid": study.study_uid, "study_date": study.study_date, "tracer": study.tracer,
            "modality_group": study.modality_group,
            "administered_activity_mbq": dose.administered_activity_mbq if dose else None,
            "radiopharmaceutical_msv": dose.radiopharmaceutical_msv if dose else None,
            "ct_msv": dose.ct_msv if dose else None, "total_msv": total, "complete": complete, "not_available": missing,
            # The breakdown a physicist checks: CT per irradiation event and region, SSDE, and every table version used.
            "ct_events": dose.ct_events if dose else [], "ct_by_region": dose.ct_by_region if dose else {},
            "ct_ssde_mgy": dose.ct_ssde_mgy if dose else None, "ct_ctdivol_mgy": dose.ct_ctdivol_mgy if dose else None,
            "ct_dw_cm": dose.ct_dw_cm if dose else None, "radiopharmaceutical_age_band": dose.radiopharmaceutical_age_band if dose else "",
            "radiopharmaceutical_coefficient": dose.radiopharmaceutical_coefficient if dose else None,
            "radiopharmaceutical_table": dose.radiopharmaceutical_table if dose else "", "ct_table": dose.ct_table if dose else "",
            "cumulative_msv": round(running, 4),
        })
    history.cumulative_msv = round(running, 4)
    return history
