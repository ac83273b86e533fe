from registry.models.audit import AuditChainHead, AuditEvent
from registry.models.hospitals import Hospital
from registry.models.jobs import Job
from registry.models.people import HospitalMembership, User

__all__ = ["AuditChainHead", "AuditEvent", "Hospital", "HospitalMembership", "Job", "User"]
