from django.apps import AppConfig


class LowdoseConfig(AppConfig):
    """Evaluation protocols, reference/test series pairs and their image-similarity metrics; dose saved per PET exam."""

    name = "imaging.lowdose"
    label = "lowdose"
    verbose_name = "Low-dose PET evaluation"
