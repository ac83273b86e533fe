from django.apps import AppConfig


class ReadingConfig(AppConfig):
    """Reader work on images: MIBG/Krenning score sheets, agreement, blinded image-quality reading sessions."""

    name = "imaging.reading"
    label = "reading"
    verbose_name = "Image reading"
