"""The write behind the models page's "Deactivate" button (the other writes are imaging.enhancement.services').

A deactivated model stays registered, with its runs and derived series; the "enhance" step no longer runs it
(series_enhance takes the active models only). Registering the same name and version again is refused, so a model is
replaced by registering a new version.
"""
from django.db import transaction
from django.utils.translation import gettext as _

from imaging.enhancement.models import EnhancementModel
from registry.access import Action
from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.models import User


def model_deactivate(*, actor: User, model: EnhancementModel, reason: str) -> EnhancementModel:
    """Stop running a model on new series, with the reason, audited (a data manager of every hospital)."""
    if not EnhancementModel.objects.restrict(actor, Action.CHANGE).filter(pk=model.pk).exists():
        raise ApplicationError(_("Only a data manager of every hospital deactivates enhancement models."), code="not_allowed")
    if not reason.strip():
        message = _("Say why the model is deactivated.")
        raise ApplicationError(message, code="reason_required", fields={"reason": [message]})
    with transaction.atomic():
        # Conditional update: a second (or concurrent) click changes nothing and says so.
        if not EnhancementModel.objects.filter(pk=model.pk, active=True).update(active=False):
            raise ApplicationError(_("The model %(label)s is already inactive.") % {"label": model.label}, code="no_change")
        model.refresh_from_db()
        audit_record(actor=actor, action="deactivate_enhancement_model", instance=model, before={"active": True},
                     after={"active": False}, reason=reason.strip())
    return model
