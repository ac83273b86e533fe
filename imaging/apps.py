from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"
    verbose_name = "Imaging"

    def ready(self) -> None:
        from imaging import steps  # noqa: F401  (registers the analysis steps of the series pipeline)
        from imaging.web import panels  # noqa: F401  (registers the patient page's imaging panel)
