"""Recompute stored exam doses for data managers: `manage.py dose_recompute [--patient STUDY_ID] [--table-version V] --actor USER`.

Without --table-version each exam keeps the CT k-factor table version its dose was made with (a new table never changes an
old dose silently); with it, the exams move to that version. Every changed dose is audited as the actor, with the reason.
The actor must be a data manager of the exam's hospital (registry.access Rule.RECOMPUTE_DOSE); other exams are not touched.
"""
from typing import Any

from django.core.management.base import CommandError, CommandParser

from imaging.models import DoseResult, ImagingStudy
from imaging.services.dose import study_dose_compute
from nucmed.ct_dose import k_table
from registry.access import Rule
from registry.management.base import AuditedCommand


class Command(AuditedCommand):
    help = "Recompute stored exam doses (all the actor may recompute, or one patient's), optionally with another CT k-factor table."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--patient", help="Study ID of one patient (registry study ID).")
        parser.add_argument("--table-version", help="CT k-factor table version to use (default: each dose keeps its own).")
        parser.add_argument("--reason", default="", help="Why the doses are recomputed (recorded in the audit trail).")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        version = options.get("table_version")
        if version:
            try:
                k_table(version)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        studies = ImagingStudy.objects.restrict(actor, Rule.RECOMPUTE_DOSE).filter(dose__isnull=False).order_by("id")
        if options.get("patient"):
            studies = studies.filter(patient__study_id=options["patient"])
        reason = options["reason"] or (f"dose recomputed with CT table {version}" if version else "dose recomputed")
        changed = 0
        for study in studies:
            before = DoseResult.objects.get(study=study).computed_at
            after = study_dose_compute(study=study, ct_table=version, actor=actor, reason=reason).computed_at
            changed += after != before
        self.stdout.write(f"{studies.count()} exam(s) recomputed, {changed} changed.")
