from registry.models.audit import AuditChainHead, AuditEvent
from registry.models.consent import ConsentDocument, ConsentRecord, ConsentScope, ConsentWithdrawal
from registry.models.followup import FollowUpPlan, FollowUpVisit
from registry.models.hospitals import Hospital
from registry.models.jobs import Job
from registry.models.patients import Patient, PatientIdentity, StudyIdCounter
from registry.models.people import HospitalMembership, User

__all__ = [
    "AuditChainHead", "AuditEvent", "ConsentDocument", "ConsentRecord", "ConsentScope", "ConsentWithdrawal",
    "FollowUpPlan", "FollowUpVisit", "Hospital", "HospitalMembership", "Job", "Patient", "PatientIdentity",
    "StudyIdCounter", "User",
]
