from django.apps import AppConfig


class ReadingConfig(AppConfig):
    """Reader work on images: MIBG/Krenning score sheets, agreement, blinded image-quality reading sessions."""

    name = "imaging.reading"
    label = "reading"
    verbose_name = "Image reading"

    def ready(self) -> None:
        from imaging.reading import measurements  # noqa: F401  (registers the score sheet's and the case's measurement contexts)
        from imaging.reading.web import panels  # noqa: F401  (registers the patient page's MIBG response panel)
