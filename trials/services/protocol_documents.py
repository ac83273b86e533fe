"""The download of a protocol version's document: for everyone who sees the version, recorded in the audit trail."""
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext as _

from registry.access import Action, may
from registry.errors import ApplicationError
from registry.models import User
from registry.services.files import file_download
from trials.models import ProtocolVersion


@transaction.atomic
def protocol_document_download(*, actor: User, version: ProtocolVersion) -> FieldFile:
    """The approved protocol document of `version`, after recording who pulled it (with its SHA-256) in the audit trail.

    Whoever may see the version (its trial's sites' staff, the trial's roles, data managers) may read its protocol;
    anyone else is told it is not there, as for a version out of scope.
    """
    if not may(actor, Action.VIEW, version):
        raise ApplicationError(_("There is no such protocol version."), code="out_of_scope")
    return file_download(actor=actor, instance=version, field="document", action="protocol_document_download",
                         missing=_("No document was filed with protocol version %(version)s.") % {"version": version.number},
                         trial_id=version.trial_id)
