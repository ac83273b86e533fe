import logging

from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"
    verbose_name = "Imaging"

    def ready(self) -> None:
        import pydicom  # noqa: F401  (its import sets its logger's level: done before ours, below)

        from imaging import steps  # noqa: F401  (registers the analysis steps of the series pipeline)
        from imaging.web import panels  # noqa: F401  (registers the patient page's imaging panel)

        # pydicom logs its value warnings with the value ("Invalid value for VR PN: '...'"), a file's content and
        # possibly an identifier: never in a log line (the ingest reports bad values per file, with a code and no
        # value). Set here, not in settings.LOGGING: importing pydicom sets its logger back to WARNING
        # (pydicom.config.debug), after Django has applied the logging configuration.
        logging.getLogger("pydicom").setLevel(logging.ERROR)
