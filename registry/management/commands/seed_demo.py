from typing import Any

from registry.demo.people import DEMO_PASSWORD, seed_hospitals, seed_logins
from registry.management.base import AuditedCommand


class Command(AuditedCommand):
    help = "Load the demo network (25 hospitals in 15 provinces) and one login per role. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        hospitals = seed_hospitals(actor=actor)
        logins = seed_logins(actor=actor)
        self.stdout.write(f"{len(hospitals)} hospitals in {len({h.province for h in hospitals})} provinces")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for login in logins:
            where = login.hospital_code or "all hospitals"
            self.stdout.write(f"  {login.role:<14} {login.username:<12} ({where})")
