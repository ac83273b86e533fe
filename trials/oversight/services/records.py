"""Finding the clinical record a signature or query refers to, inside the actor's scope."""
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext as _

from registry.access import Action, ScopedModel
from registry.errors import ApplicationError
from registry.models import User
from trials.oversight.models.records import record_hospital_and_trial


def content_type_for(label: str) -> ContentType:
    """ "app_label.model" -> its content type, for scoped clinical models only."""
    app_label, _sep, model = label.lower().partition(".")
    ct = ContentType.objects.filter(app_label=app_label, model=model).first()
    model_class = ct.model_class() if ct else None
    if model_class is None or not issubclass(model_class, ScopedModel):
        raise ApplicationError(_("%(label)s is not a kind of clinical record.") % {"label": repr(label)}, code="invalid",
                               fields={"record_type": [_("Unknown record type.")]})
    return ct


def visible_record(*, actor: User, content_type: ContentType, object_id: int, action: Action = Action.VIEW) -> models.Model:
    """The record if the actor may `action` it; "does not exist" otherwise (never tell an outsider it exists)."""
    model = content_type.model_class()
    assert model is not None
    record = model._default_manager.restrict(actor, action).filter(pk=object_id).first()
    if record is None:
        raise ApplicationError(_("No such record in your hospitals and trials."), code="not_found",
                               fields={"object_id": [_("Does not exist.")]})
    return record


def record_location(record: models.Model) -> tuple[int, int | None]:
    hospital_id, trial_id = record_hospital_and_trial(record)
    if hospital_id is None:
        raise ApplicationError(_("This record belongs to no hospital; it cannot be signed or queried."),
                               code="invalid", fields={"object_id": [_("Not a hospital's clinical record.")]})
    return hospital_id, trial_id
