"""A subject's casebook signature is voided by any later change to the subject's data (visits, doses, status,
deviation reviews, adverse events): the change needs a reason while the casebook is signed, and the voiding is
audited (trials.oversight.services.signatures writes one `void_signature` event per signature)."""
from registry.models import User
from trials.models import Subject
from trials.oversight.services.signatures import require_reason_if_signed, void_for_edit


def casebook_reason(subject: Subject, reason: str) -> str:
    """The stripped reason; refused (reason_required, naming `reason`) when the subject's casebook is signed and none is given."""
    return require_reason_if_signed(subject, reason)


def casebook_void(*, actor: User, subject: Subject, reason: str) -> int:
    """Void the subject's valid casebook signatures after an edit; how many were voided."""
    return void_for_edit(subject, actor=actor, reason=reason or "casebook data changed")
