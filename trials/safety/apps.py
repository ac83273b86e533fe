from django.apps import AppConfig


class SafetyConfig(AppConfig):
    """Adverse events, SAE reporting clocks: the safety side of the trials (its own app so its schema evolves apart)."""

    name = "trials.safety"
    label = "safety"
    verbose_name = "Trial safety"

    def ready(self) -> None:
        # Hooks into the parent and its oversight sibling, which do not import safety: the subject page's adverse events
        # and the labels of queries on adverse events.
        from trials.safety.web import query_labels, subject_section  # noqa: F401  (they register on import)
