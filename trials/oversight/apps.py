from django.apps import AppConfig


class OversightConfig(AppConfig):
    """Part 11 e-signatures and monitors' data queries, over any clinical record (registry or trials)."""

    name = "trials.oversight"
    label = "oversight"
    verbose_name = "Signatures and data queries"

    def ready(self) -> None:
        # Hooks into the parent app, which does not import its sub-apps: the casebook's signature service, the query
        # pages' labels of trials records, and the subject page's queries on visits and doses.
        from trials.oversight.services.signatures import require_reason_if_signed, valid_signatures, void_for_edit
        from trials.oversight.web import labels, subject_section  # noqa: F401  (they register on import)
        from trials.services.casebook import CasebookSignatures, register_casebook_signatures

        register_casebook_signatures(CasebookSignatures(is_signed=lambda record: valid_signatures(record).exists(),
                                                        require_reason=require_reason_if_signed, void=void_for_edit))
