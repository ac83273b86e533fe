from typing import Any

from django.core.management.base import BaseCommand, CommandError

from registry.audit import verify_chain


class Command(BaseCommand):
    help = "Walk the audit hash chain; exit non-zero naming the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(f"Audit chain broken at event #{report.broken_seq}: {report.problem} "
                               f"({report.checked} events verified before it)")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} events verified"))
