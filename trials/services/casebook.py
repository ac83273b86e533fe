"""A subject's casebook signature is voided by any later change to the subject's data (visits, doses, status,
deviation reviews, adverse events): the change needs a reason while the casebook is signed, and the voiding is
audited (the signature service writes one `void_signature` event per signature).

E-signatures are the oversight sub-app's, and a parent app does not import its sub-apps (the import contracts in
pyproject.toml), so oversight plugs its signature functions in here from OversightConfig.ready().
"""
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

from registry.models import User
from trials.models import Subject


@dataclass(frozen=True)
class CasebookSignatures:
    """What the trials app needs of a signature service, for any signed record (here: a subject's casebook)."""

    is_signed: Callable[[Model], bool]
    require_reason: Callable[[Model, str], str]
    void: Callable[..., int]  # void(record, *, actor, reason) -> how many signatures were voided


_signatures: list[CasebookSignatures] = []


def register_casebook_signatures(signatures: CasebookSignatures) -> None:
    _signatures[:] = [signatures]  # one signature service; registering again replaces it


def _service() -> CasebookSignatures:
    if not _signatures:
        # Fail closed: without the signature service a signed casebook could be changed without a reason or a voiding.
        raise ImproperlyConfigured("No casebook signature service is registered (is trials.oversight installed?).")
    return _signatures[0]


def casebook_signed(subject: Subject) -> bool:
    """Whether the subject's casebook carries a valid signature (the pages then ask for a reason)."""
    return _service().is_signed(subject)


def casebook_reason(subject: Subject, reason: str) -> str:
    """The stripped reason; refused (reason_required, naming `reason`) when the subject's casebook is signed and none is given."""
    return _service().require_reason(subject, reason)


def casebook_void(*, actor: User, subject: Subject, reason: str) -> int:
    """Void the subject's valid casebook signatures after an edit; how many were voided."""
    return _service().void(subject, actor=actor, reason=reason or "casebook data changed")
