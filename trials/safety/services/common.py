"""Small helpers shared by the safety services."""
from registry.errors import ApplicationError
from trials.safety.models import AdverseEvent


def fail(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid", fields={field: [message]})


def location(event: AdverseEvent) -> tuple[int, int]:
    """The hospital and trial of an event, for the audit trail."""
    subject = event.subject
    return subject.site.hospital_id, subject.trial_id
