from django.apps import AppConfig


class OversightConfig(AppConfig):
    """Part 11 e-signatures and monitors' data queries, over any clinical record (registry or trials)."""

    name = "trials.oversight"
    label = "oversight"
    verbose_name = "Signatures and data queries"
