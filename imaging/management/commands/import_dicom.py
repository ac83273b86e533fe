from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from imaging.models import Upload
from imaging.services.ingest import IncomingFile, ingest
from registry.errors import ApplicationError
from registry.management.base import AuditedCommand
from registry.models import Patient


class Command(AuditedCommand):
    help = "Import a folder of DICOM files (and zips) for one registry patient, through the same ingest as uploads."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("path", type=Path)
        parser.add_argument("--patient", required=True, help="Platform study ID, e.g. BJYY-00042")
        parser.add_argument("--batch", type=int, default=500, help="Files per upload record")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        patient = Patient.objects.filter(study_id=options["patient"]).first()
        if patient is None:
            raise CommandError(f"No patient {options['patient']}")
        root: Path = options["path"]
        files = sorted(p for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file())
        if not files:
            raise CommandError(f"No files under {root}")
        totals = {"accepted": 0, "duplicates": 0, "conflicts": 0, "quarantined": 0, "rejected": 0}
        for start in range(0, len(files), options["batch"]):
            batch = [IncomingFile(str(p.relative_to(root)) if root.is_dir() else p.name, p)
                     for p in files[start:start + options["batch"]]]
            try:
                upload = ingest(actor=actor, patient=patient, files=batch, source=Upload.Source.COMMAND)
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            for key in totals:
                totals[key] += getattr(upload, key)
            for item in upload.items:
                if item["outcome"] in ("rejected", "conflict"):
                    self.stderr.write(f"{item['outcome']} {item['file']} ({item['code']}): {item['reason']}")
        self.stdout.write(", ".join(f"{k} {v}" for k, v in totals.items()) + f" ({len(files)} files)")
