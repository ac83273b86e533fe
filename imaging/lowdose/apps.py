from django.apps import AppConfig


class LowdoseConfig(AppConfig):
    """Evaluation protocols, reference/test series pairs and their image-similarity metrics; dose saved per PET exam."""

    name = "imaging.lowdose"
    label = "lowdose"
    verbose_name = "Low-dose PET evaluation"

    def ready(self) -> None:
        # An enhanced series is paired with its source (and the study's standard series) once it is analysed: the
        # enhancement step calls this hook, since imaging.enhancement does not import this sub-app.
        from imaging.enhancement.hooks import on_derived_series
        from imaging.lowdose.services import pairs_for_derived
        from imaging.lowdose.web import dose_saving  # noqa: F401  (registers the patient page's dose-saved panel)

        on_derived_series("lowdose")(lambda source, derived, actor: pairs_for_derived(actor=actor, source=source, derived=derived))
