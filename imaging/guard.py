"""The wrong-patient guard: compare what the DICOM header says about the patient with the registry.

Differences are described without identifiers (no names, no dates of birth), so they can be shown to
reviewers and kept in the study's hold reasons.
"""
import re
from datetime import date

from registry.dates import months_between
from registry.models import Patient

_AGE = re.compile(r"^(\d{3})([DWMY])$")


def _age_months(age: str) -> float | None:
    match = _AGE.match(age or "")
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2)
    return {"D": value / 30.44, "W": value * 7 / 30.44, "M": float(value), "Y": value * 12.0}[unit]


def differences(patient: Patient, *, sex: str | None, birth_date: date | None, age: str | None,
                study_date: date | None, weight_kg: float | None, recent_weight_kg: float | None) -> list[str]:
    found = []
    if sex in ("M", "F") and patient.sex in ("M", "F") and sex != patient.sex:
        found.append(f"PatientSex in the images is {sex}; the registry records {patient.sex}.")
    if birth_date is not None:
        same = (birth_date.year, birth_date.month) == (patient.birth_date.year, patient.birth_date.month)
        if patient.birth_date_precision == Patient.BirthDatePrecision.DAY:
            same = birth_date == patient.birth_date
        if not same:
            gap = abs(months_between(min(birth_date, patient.birth_date), max(birth_date, patient.birth_date)))
            found.append(f"The date of birth in the images differs from the registry's (by about {gap} months).")
    elif age and study_date is not None:
        dicom_months = _age_months(age)
        if dicom_months is not None:
            registry_months = months_between(patient.birth_date, study_date)
            tolerance = 2 if registry_months < 24 else 12
            if abs(dicom_months - registry_months) > tolerance:
                found.append(f"PatientAge in the images ({age}) does not match the registry age at the study date "
                             f"({registry_months // 12} y {registry_months % 12} m).")
    if weight_kg and recent_weight_kg and abs(weight_kg - recent_weight_kg) / recent_weight_kg > 0.2:
        found.append(f"PatientWeight {weight_kg:g} kg differs by more than 20 % from this patient's weight in a recent "
                     f"study ({recent_weight_kg:g} kg).")
    return found
