from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from imaging.dimse import listener
from imaging.dimse.handlers import file_leftover_spools


class Command(BaseCommand):
    help = "Run the DICOM listener: C-STORE and C-ECHO from registered senders, Modality Worklist C-FIND."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="0.0.0.0")
        parser.add_argument("--port", type=int, default=settings.DICOM_LISTENER_PORT)
        parser.add_argument("--ae-title", default=settings.DICOM_LISTENER_AE_TITLE)

    def handle(self, *args: Any, **options: Any) -> None:
        leftover = file_leftover_spools()  # associations an earlier run received but did not file (killed mid-way)
        if leftover:
            self.stdout.write(f"filed {leftover} spooled association(s) left by an earlier run")
        self.stdout.write(f"DICOM listener {options['ae_title']} on {options['host']}:{options['port']}")
        listener.start(ae_title=options["ae_title"], host=options["host"], port=options["port"], block=True)
