from django.apps import AppConfig


class EnhancementConfig(AppConfig):
    """Image-enhancement models (ONNX) registered by data managers, and the pipeline step that runs them."""

    name = "imaging.enhancement"
    label = "enhancement"
    verbose_name = "Image enhancement"

    def ready(self) -> None:
        from imaging.enhancement import step  # noqa: F401  (registers the "enhance" step of the series pipeline)
