"""The extract's tables, in the order they are written. See tables.py for what never leaves."""
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.crypto import salted_hmac

from imaging.models import ImagingStudy
from registry.access import Action
from registry.models import ConsentRecord, FollowUpVisit, Patient, User
from reports.exports.tables import Column, Table, as_date
from trials.models import DosingRecord, ScreeningRecord, Subject
from trials.safety import ae_form
from trials.safety.models.events import AdverseEvent

BLINDED = "blinded"


@lru_cache(maxsize=65536)  # a patient's key is written in several tables; bounded, so memory stays flat
def pseudonym(kind: str, pk: int) -> str:
    """A stable pseudonymous key: a keyed hash of the row id (the key is derived from SECRET_KEY and never leaves).

    Stable across runs (so two extracts can be linked by the data manager) and not reversible without the key.
    """
    return kind[0].upper() + salted_hmac(f"reports.extract.{kind}", str(pk), secret=settings.SECRET_KEY).hexdigest()[:15]


def _patient_key(path: str = "patient_id") -> Column:
    return Column("patient_key", None, "Pseudonymous patient key (the same patient has the same key in every table).", "text",
                  derive=lambda r: pseudonym("patient", r[path]), needs=(path,))


def _arm(r: dict[str, Any]) -> str | None:
    # As the trial report: in a blinded trial the arm shows only after an audited unblinding.
    if r["trial__blinded"] and r["unblinding__id"] is None:
        return BLINDED
    return r["arm__code"]


def _scoped(model: Any, user: User, patients: QuerySet[Patient], path: str) -> QuerySet[Any]:
    return model.objects.restrict(user, Action.VIEW).filter(**{f"{path}__in": patients.values("pk")})


TABLES: list[Table] = [
    Table("patients", "One row per registry patient (de-identified).", Patient,
          lambda user, patients: patients.order_by("pk"), [
              Column("patient_key", None, "Pseudonymous patient key.", "text", derive=lambda r: pseudonym("patient", r["pk"]), needs=("pk",)),
              Column("hospital", "hospital__code", "Hospital code."),
              Column("province", "hospital__province", "Province of the hospital."),
              Column("sex", "sex", "Sex."),
              Column("age_at_diagnosis_months", "age_at_diagnosis_months", "Age at diagnosis in whole months (no date of birth)."),
              Column("diagnosis_date", "diagnosis_date", "Date of diagnosis."),
              Column("primary_site", "primary_site", "Primary tumour site."),
              Column("inrgss_stage", "inrgss_stage", "INRG staging system stage."),
              Column("inss_stage", "inss_stage", "INSS stage (empty: not recorded)."),
              Column("inrg_risk", "inrg_risk", "INRG pre-treatment risk group."),
              Column("cog_risk", "cog_risk", "COG risk group (empty: not recorded)."),
              Column("mycn", "mycn", "MYCN status."),
              Column("aberration_11q", "aberration_11q", "11q aberration."),
              Column("ploidy", "ploidy", "Tumour cell ploidy."),
              Column("histology", "histology", "INPC histology."),
              Column("death_date", "death_date", "Date of death (empty: not known to have died)."),
              Column("last_contact_date", "last_contact_date", "Last date the patient was known alive or seen."),
              Column("contact_withdrawn_on", "contact_withdrawn_on", "Date the family asked for no further contact (data kept)."),
          ]),
    Table("consents", "Registry and trial consent records (who signed which version; no names or signatures).", ConsentRecord,
          lambda user, patients: _scoped(ConsentRecord, user, patients, "patient").order_by("patient_id", "signed_date", "pk"), [
              _patient_key(),
              Column("scope", "document__scope", "Registry or trial consent."),
              Column("version", "document__version", "Version of the consent document."),
              Column("signer", "signer", "Who signed."),
              Column("assent", "assent", "Child assent."),
              Column("signed_date", "signed_date", "Date signed."),
              Column("withdrawn_on", "withdrawal__withdrawn_on", "Date the consent was withdrawn (empty: not withdrawn)."),
              Column("withdrawal_scope", "withdrawal__scope", "What the withdrawal stopped (only no-further-contact appears: "
                                                              "patients who withdrew the use of their data are not in the extract)."),
          ]),
    Table("follow_up_visits", "Registry follow-up visits (scheduled and unscheduled).", FollowUpVisit,
          lambda user, patients: _scoped(FollowUpVisit, user, patients, "patient").order_by("patient_id", "number", "pk"), [
              _patient_key(),
              Column("number", "number", "Visit number (1 = first expected visit after diagnosis)."),
              Column("target_date", "target_date", "Target date (empty: unscheduled visit)."),
              Column("window_start", "window_start", "Start of the visit window."),
              Column("window_end", "window_end", "End of the visit window."),
              Column("status", "status", "Visit status."),
              Column("visit_date", "visit_date", "Date the visit was done."),
              Column("vital_status", "vital_status", "Vital status at the visit."),
              Column("disease_status", "disease_status", "Disease status (response) at the visit."),
              Column("event_date", "event_date", "Relapse or progression date recorded at the visit."),
              Column("death_date", "death_date", "Date of death recorded at the visit."),
          ]),
    Table("imaging_studies", "Imaging studies with their computed effective dose.", ImagingStudy,
          lambda user, patients: _scoped(ImagingStudy, user, patients, "patient").order_by("patient_id", "study_date", "pk"), [
              Column("study_key", None, "Pseudonymous imaging study key (no DICOM UID).", "text",
                     derive=lambda r: pseudonym("study", r["pk"]), needs=("pk",)),
              _patient_key(),
              Column("study_date", "study_date", "Study date."),
              Column("tracer", "tracer", "Radiopharmaceutical."),
              Column("modality_group", "modality_group", "Modality group."),
              Column("status", "status", "Processing status."),
              Column("effective_dose_msv", "dose__total_msv", "Effective dose of the exam, mSv (radiopharmaceutical + CT of what is known)."),
              Column("dose_complete", "dose__complete", "Both parts of the dose are known."),
          ]),
    Table("trial_screenings", "Trial screenings.", ScreeningRecord,
          lambda user, patients: _scoped(ScreeningRecord, user, patients, "patient").order_by("trial__code", "screened_on", "pk"), [
              Column("trial", "trial__code", "Trial code."),
              Column("site_number", "site__site_number", "Trial site number."),
              _patient_key(),
              Column("screened_on", "screened_on", "Screening date."),
              Column("outcome", "outcome", "Screening outcome."),
              Column("failed_criteria", None, "Numbers of the criteria not met, separated by ';'.", "text",
                     derive=lambda r: ";".join(str(c) for c in sorted(r["failed_criteria"] or [], key=str)), needs=("failed_criteria",)),
          ]),
    Table("trial_subjects", "Trial subjects (by subject number).", Subject,
          lambda user, patients: _scoped(Subject, user, patients, "patient").order_by("trial__code", "subject_number"), [
              Column("trial", "trial__code", "Trial code."),
              Column("subject_number", "subject_number", "Trial subject number."),
              Column("site_number", "site__site_number", "Trial site number."),
              _patient_key(),
              Column("arm", None, f"Arm code; '{BLINDED}' in a blinded trial unless the subject was unblinded.", "text",
                     derive=_arm, needs=("trial__blinded", "unblinding__id", "arm__code")),
              Column("status", "status", "Subject status."),
              Column("enrolled_on", None, "Enrolment date (UTC).", "date", derive=lambda r: as_date(r["enrolled_at"]), needs=("enrolled_at",)),
          ]),
    Table("trial_dosing", "Investigational radiopharmaceutical administrations.", DosingRecord,
          lambda user, patients: _scoped(DosingRecord, user, patients, "subject__patient")
          .order_by("subject__trial__code", "subject__subject_number", "administered_at", "pk"), [
              Column("trial", "subject__trial__code", "Trial code."),
              Column("subject_number", "subject__subject_number", "Trial subject number."),
              Column("agent", "agent_code", "Radiopharmaceutical."),
              Column("administered_on", None, "Administration date (UTC).", "date", derive=lambda r: as_date(r["administered_at"]),
                     needs=("administered_at",)),
              Column("weight_kg", "weight_kg", "Weight at dosing, kg."),
              Column("age_years", "age_years", "Age at dosing, years."),
              Column("net_activity_mbq", "net_activity_mbq", "Net administered activity, MBq."),
              Column("recommended_activity_mbq", "recommended_activity_mbq", "Recommended activity, MBq."),
              Column("deviation_percent", "deviation_percent", "Deviation from the recommended activity, %."),
              Column("effective_dose_msv", "effective_dose_msv", "Effective dose, mSv."),
          ]),
    Table("adverse_events", "Adverse events (the current version of each report).", AdverseEvent,
          lambda user, patients: _scoped(AdverseEvent, user, patients, "subject__patient")
          .order_by("subject__trial__code", "subject__subject_number", "number"), [
              Column("trial", "subject__trial__code", "Trial code."),
              Column("subject_number", "subject__subject_number", "Trial subject number."),
              Column("number", "number", "Adverse event number of the subject."),
              # The report's exported fields, as declared with the form (trials/safety/ae_form.py).
              *(Column(export.column, f"current_version__{name}", export.description) for name, export in ae_form.EXPORTED),
              Column("susar", "is_susar", "Suspected unexpected serious adverse reaction."),
          ]),
]
