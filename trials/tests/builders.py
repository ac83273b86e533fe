"""Builders for trials tests: a trial set up through the services (audited), and enrolment-ready patients.

Dates are fixed and in the past; services that need "today" are given TODAY.
"""
from datetime import date
from typing import Any

from registry.models import ConsentDocument, ConsentRecord, ConsentScope, Hospital, Patient, User
from registry.tests.builders import make_document, make_patient, make_registry_consent
from trials.models import Arm, EligibilityCriterion, ProtocolVersion, ScreeningRecord, Subject, Trial, TrialSite, VisitDefinition
from trials.services import setup
from trials.services.enrolment import subject_enrol
from trials.services.screening import screening_record_create

TODAY = date(2026, 6, 30)
PROTOCOL_FROM = date(2025, 1, 1)


def make_trial(dm: User, hospitals: list[Hospital], *, code: str = "NB-T1", randomised: bool = False,
               arms: tuple[tuple[str, int], ...] = (("A", 100),), recruiting: bool = True, activated_on: date = date(2025, 2, 1),
               **fields: Any) -> Trial:
    """A trial with protocol v1 (two inclusion and one exclusion criterion), a visit schedule, arms and sites."""
    defaults: dict[str, Any] = {"title_zh": "试验", "title_en": f"Trial {code}", "phase": "III", "agent_code": "GA68_DOTATATE",
                                "sponsor_organisation": "NBNM", "target_accrual": 40}
    if randomised:
        defaults.update(randomised=True, stratify_by=["site", "inrg_risk"], block_sizes=[2, 4])
    trial = setup.trial_create(actor=dm, code=code, **{**defaults, **fields})
    version = setup.protocol_version_create(actor=dm, trial=trial, number="1.0", version_date=PROTOCOL_FROM,
                                            ethics_approval_number=f"EC-{code}", ethics_approval_date=PROTOCOL_FROM,
                                            effective_from=PROTOCOL_FROM)
    for kind, number, text in (("inclusion", 1, "Neuroblastoma"), ("inclusion", 2, "Age 1-18"), ("exclusion", 1, "Pregnancy")):
        setup.criterion_create(actor=dm, protocol_version=version, kind=kind, number=number, text_zh=text, text_en=text)
    for code_, anchor, day, before, after in (("SCR", "enrolment", 0, 0, 0), ("PET", "dosing", 0, 0, 0),
                                             ("D7", "dosing", 7, 2, 2), ("W4", "enrolment", 28, 3, 3)):
        setup.visit_definition_create(actor=dm, protocol_version=version, code=code_, name_zh=code_, name_en=code_,
                                      anchor=anchor, day_offset=day, window_before_days=before, window_after_days=after)
    for arm_code, percent in arms:
        setup.arm_create(actor=dm, trial=trial, code=arm_code, name_zh=arm_code, name_en=f"Arm {arm_code}", activity_percent=percent)
    for i, hospital in enumerate(hospitals, start=1):
        setup.trial_site_create(actor=dm, trial=trial, hospital=hospital, site_number=f"{i:02d}", activated_on=activated_on)
    if recruiting:
        setup.trial_transition(actor=dm, trial=trial, to=Trial.Status.RECRUITING, reason="ethics approved")
        trial.refresh_from_db()
    return trial


def quick_trial(hospitals: list[Hospital], *, code: str, arms: tuple[tuple[str, int], ...] = (("A", 100),),
                randomised: bool = False, **fields: Any) -> Trial:
    """The same set-up as make_trial, written straight to the tables (no audit): for arrangements that need many
    trials quickly, such as the access matrix. Service behaviour is tested with make_trial."""
    defaults: dict[str, Any] = {"title_zh": "试验", "title_en": f"Trial {code}", "phase": "III", "agent_code": "GA68_DOTATATE",
                                "sponsor_organisation": "NBNM", "target_accrual": 40, "status": Trial.Status.RECRUITING}
    if randomised:
        defaults.update(randomised=True, stratify_by=["site", "inrg_risk"], block_sizes=[2, 4])
    trial = Trial.objects.create(code=code, **{**defaults, **fields})
    version = ProtocolVersion.objects.create(trial=trial, number="1.0", version_date=PROTOCOL_FROM, effective_from=PROTOCOL_FROM,
                                             ethics_approval_number=f"EC-{code}", ethics_approval_date=PROTOCOL_FROM)
    EligibilityCriterion.objects.bulk_create([
        EligibilityCriterion(protocol_version=version, kind=kind, number=number, text_zh=text, text_en=text)
        for kind, number, text in (("inclusion", 1, "Neuroblastoma"), ("inclusion", 2, "Age 1-18"), ("exclusion", 1, "Pregnancy"))])
    VisitDefinition.objects.bulk_create([
        VisitDefinition(protocol_version=version, code=c, name_zh=c, name_en=c, anchor=anchor, day_offset=day,
                        window_before_days=w, window_after_days=w)
        for c, anchor, day, w in (("SCR", "enrolment", 0, 0), ("PET", "dosing", 0, 0), ("D7", "dosing", 7, 2), ("W4", "enrolment", 28, 3))])
    Arm.objects.bulk_create([Arm(trial=trial, code=c, name_zh=c, name_en=f"Arm {c}", activity_percent=p) for c, p in arms])
    TrialSite.objects.bulk_create([TrialSite(trial=trial, hospital=h, site_number=f"{i:02d}", activated_on=date(2025, 2, 1))
                                   for i, h in enumerate(hospitals, start=1)])
    return trial


def site_of(trial: Trial, hospital: Hospital) -> TrialSite:
    return TrialSite.objects.get(trial=trial, hospital=hospital)


def trial_document(trial: Trial, *, assent_age_years: int = 8, version: str = "1.0") -> ConsentDocument:
    found = ConsentDocument.objects.filter(scope=ConsentScope.TRIAL, trial_id=trial.pk, version=version).first()
    return found or make_document(scope=ConsentScope.TRIAL, trial_id=trial.pk, version=version, effective_from=PROTOCOL_FROM,
                                  title=f"{trial.code} consent", assent_age_years=assent_age_years)


def make_trial_consent(actor: User, patient: Patient, trial: Trial, *, signed_date: date = date(2026, 6, 1),
                       **overrides: Any) -> ConsentRecord:
    return make_registry_consent(actor, patient, document=overrides.pop("document", None) or trial_document(trial),
                                 signed_date=signed_date, today=TODAY, **overrides)


def answers(trial: Trial, *, failing: tuple[str, ...] = ()) -> dict[int, bool]:
    """Answers to every criterion of the trial's protocol: all passing, except the labels in `failing`."""
    result = {}
    for criterion in EligibilityCriterion.objects.filter(protocol_version__trial=trial):
        passes = criterion.label not in failing
        result[criterion.pk] = passes if criterion.kind == "inclusion" else not passes
    return result


def screen(actor: User, trial: Trial, site: TrialSite, patient: Patient, *, failing: tuple[str, ...] = (),
           screened_on: date = date(2026, 6, 10)) -> ScreeningRecord:
    return screening_record_create(actor=actor, trial=trial, site=site, patient=patient, screened_on=screened_on,
                                   answers=answers(trial, failing=failing), today=TODAY)


def ready_patient(actor: User, trial: Trial, hospital: Hospital, **clinical: Any) -> Patient:
    """Registered, trial-consented (enrolment needs the trial's consent, not the registry's), and screened eligible
    at the trial's site at `hospital`."""
    clinical.setdefault("birth_date", date(2019, 3, 15))
    patient = make_patient(actor, hospital, **clinical)
    make_trial_consent(actor, patient, trial)
    screen(actor, trial, site_of(trial, hospital), patient)
    return patient


def enrol(actor: User, trial: Trial, hospital: Hospital, *, arm: Arm | None = None, **clinical: Any) -> Subject:
    patient = ready_patient(actor, trial, hospital, **clinical)
    return subject_enrol(actor=actor, trial=trial, site=site_of(trial, hospital), patient=patient, arm=arm, today=TODAY)
