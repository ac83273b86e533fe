"""Trial subjects for the safety tests, built directly (the enrolment service is trials-core's and tested there)."""
import itertools
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from registry.access import forget_scope
from registry.models import Hospital, User
from registry.tests.builders import consented_patient
from trials.models import ProtocolVersion, ScreeningRecord, Subject, Trial, TrialMembership, TrialSite

_numbers = itertools.count(1)


def make_trial(code: str = "", **overrides: Any) -> Trial:
    n = next(_numbers)
    fields = {"code": code or f"SAF-{n}", "title_zh": "试验", "title_en": "A trial", "phase": "III",
              "agent_code": "GA68_DOTATATE", "sponsor_organisation": "Radiopharmacy Co.", "target_accrual": 40}
    fields.update(overrides)
    trial = Trial.objects.create(**fields)
    ProtocolVersion.objects.create(trial=trial, number="1.0", version_date=date(2019, 1, 1), ethics_approval_number="EC-T",
                                   ethics_approval_date=date(2019, 1, 1), effective_from=date(2019, 1, 1))
    return trial


def site_of(trial: Trial, hospital: Hospital) -> TrialSite:
    site, _ = TrialSite.objects.get_or_create(trial=trial, hospital=hospital, defaults={
        "site_number": f"{TrialSite.objects.filter(trial=trial).count() + 1:02d}", "activated_on": date(2019, 1, 1)})
    return site


def grant(user: User, trial: Trial, role: str) -> None:
    TrialMembership.objects.get_or_create(user=user, trial=trial, role=role)
    forget_scope(user)


def make_subject(coordinator: User, hospital: Hospital, trial: Trial, *, enrolled_at: datetime | None = None,
                 **patient_overrides: Any) -> Subject:
    """A consented registry patient enrolled at `hospital`'s site of `trial` (consent signed at diagnosis)."""
    patient = consented_patient(coordinator, hospital, **patient_overrides)
    site = site_of(trial, hospital)
    version = trial.protocol_versions.first()
    screening = ScreeningRecord.objects.create(trial=trial, site=site, patient=patient, protocol_version=version,
                                               screened_on=patient.diagnosis_date, outcome="eligible",
                                               screened_by=coordinator)
    trial.last_subject_number += 1
    trial.save(update_fields=["last_subject_number"])
    return Subject.objects.create(
        trial=trial, site=site, patient=patient, subject_number=f"{trial.code}-{site.site_number}-{trial.last_subject_number:03d}",
        enrolled_at=enrolled_at or timezone.now(), enrolled_by=coordinator, screening=screening,
        consent=patient.consents.first(), protocol_version=version)
