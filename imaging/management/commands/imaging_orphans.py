"""Files in DICOM storage that no row names, and rows whose file is missing (issue 14: nothing lost, nothing left over).

Files with no row come from a commit that failed after its files were published, a transaction that enclosed
the ingest and rolled back, or a crash that left an upload's staging area behind (imaging.storage). They hold
de-identified data only and are removed with --delete (audited). Rows whose file is missing are data loss: they are
listed, never deleted (their analyses and readings refer to them); restore the file from a backup. A deferred upload's
receipt holds its file in the database until it is filed (IntakeSpool): one still waiting with no file is listed the same
way (it will be refused `spool_unreadable` when filed).
"""
from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from imaging import storage
from imaging.models import Instance, InstanceConflict, IntakeConflict, IntakeReceipt
from registry.audit import audit_record
from registry.management.base import AuditedCommand

ROWS_WITH_FILES = (Instance, InstanceConflict, IntakeConflict)


WAITING = (IntakeReceipt.State.RECEIVED, IntakeReceipt.State.FILING)


def referenced_keys() -> set[str]:
    keys: set[str] = set()
    for model in ROWS_WITH_FILES:
        keys.update(model.objects.values_list("storage_key", flat=True))
    return keys


class Command(AuditedCommand):
    help = "List DICOM files in storage with no row and rows with no file; --delete removes the files with no row (audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--delete", action="store_true", help="Remove the files that no row names.")
        parser.add_argument("--min-age-minutes", type=int, default=60,
                            help="Leave files younger than this alone: an upload in progress has staged or published them "
                                 "before its rows commit.")

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = timezone.now() - timedelta(minutes=options["min_age_minutes"])
        files = {key for prefix in (storage.CONTENT, storage.STAGING) for key in storage.walk(prefix)}
        referenced = referenced_keys()
        orphans = sorted(k for k in files - referenced if storage.modified(k) <= cutoff)
        missing = [(model._meta.label, pk) for model in ROWS_WITH_FILES
                   for pk, key in model.objects.values_list("pk", "storage_key") if key not in files]
        missing += [(IntakeReceipt._meta.label, pk) for pk in
                    IntakeReceipt.objects.filter(state__in=WAITING, spool__isnull=True).values_list("pk", flat=True)]
        for key in orphans:
            self.stdout.write(f"file without row: {key}")
        for label, pk in missing:
            self.stdout.write(f"row without file: {label} {pk}")
        removed = self._delete(orphans, options) if options["delete"] else 0
        self.stdout.write(f"{len(orphans)} file(s) without row ({removed} removed), {len(missing)} row(s) without file")
        if missing or len(orphans) > removed:
            raise CommandError("storage and rows disagree (see above)", returncode=1)

    def _delete(self, orphans: list[str], options: dict[str, Any]) -> int:
        if not orphans:
            return 0
        # Read again just before deleting: an upload may have committed a row naming one of them meanwhile.
        still = [k for k in orphans if k not in referenced_keys()]
        with transaction.atomic():
            audit_record(actor=self.actor(options), action="delete_orphan_files", object_type="imaging.storage",
                         object_id="dicom", after={"files": len(still), "keys": still})
        for key in still:
            storage.delete(key)
        return len(still)
