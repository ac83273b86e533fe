from typing import Any

from django.core.management.base import BaseCommand, CommandError

from registry.audit import checkpoint_path, verify_chain


class Command(BaseCommand):
    help = ("Walk the audit hash chain and compare it with the external checkpoints (AUDIT_CHECKPOINT_PATH); "
            "exit 1 naming the first broken link or the checkpoint it disagrees with.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.ok:
            where = f"at event #{report.broken_seq}" if report.broken_seq is not None else "before the chain was walked"
            raise CommandError(f"Audit chain broken {where}: {report.problem} ({report.checked} events verified before it)")
        self.stdout.write(self.style.SUCCESS(
            f"Audit chain intact: {report.checked} events verified, {report.checkpoints} checkpoints of "
            f"{checkpoint_path()} agree with it"))
