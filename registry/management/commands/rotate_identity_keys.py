from typing import Any

from registry.management.base import AuditedCommand
from registry.services.keys import identity_keys_rotate


class Command(AuditedCommand):
    help = ("Re-encrypt every patient identity with the first key in PATIENT_IDENTITY_KEYS. Rotation: put the new key "
            "first (keep the old one after it), run this, then remove the old key.")

    def handle(self, *args: Any, **options: Any) -> None:
        count = identity_keys_rotate(actor=self.actor(options))
        self.stdout.write(self.style.SUCCESS(f"{count} identities re-encrypted under the newest key"))
