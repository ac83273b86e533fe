from django.apps import AppConfig


class SafetyConfig(AppConfig):
    """Adverse events, SAE reporting clocks: the safety side of the trials (its own app so its schema evolves apart)."""

    name = "trials.safety"
    label = "safety"
    verbose_name = "Trial safety"
