"""Re-encrypting every stored identity under the newest key (the middle step of a key rotation)."""
from django.db import transaction

from registry import identity_crypto
from registry.audit import audit_record
from registry.models import PatientIdentity, User


def identity_keys_rotate(*, actor: User, batch_size: int = 500) -> int:
    """Re-encrypt with the first key of PATIENT_IDENTITY_KEYS; each batch commits with its own audit event."""
    rotated = 0
    ids = list(PatientIdentity.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        with transaction.atomic():
            rows = list(PatientIdentity.objects.select_for_update().filter(pk__in=chunk))
            for row in rows:
                row.ciphertext = identity_crypto.rotate(row.ciphertext)
            PatientIdentity.objects.bulk_update(rows, ["ciphertext"])
            audit_record(actor=actor, action="rotate_key", object_type="registry.patientidentity",
                         object_id=f"{chunk[0]}-{chunk[-1]}", after={"rows": len(rows)})
        rotated += len(rows)
    return rotated
