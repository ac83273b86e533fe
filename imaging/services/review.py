"""Review of studies held by the wrong-patient guard."""
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging.models import ImagingStudy, Series
from registry.access import Action, ensure_in_scope
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User
from registry.services.common import require_reason
from registry.services.work import work_queue_after_commit


@transaction.atomic
def study_release(*, actor: User, study: ImagingStudy, reason: str) -> ImagingStudy:
    """A reviewer confirms the images are this patient's: publish the study and run its pipelines."""
    reason = require_reason(reason)
    study = ImagingStudy.objects.select_for_update().get(pk=study.pk)
    if study.status != ImagingStudy.Status.ON_HOLD:
        raise ApplicationError(_("Only a study on hold can be released (this one is %(status)s).")
                               % {"status": str(study.get_status_display()).lower()}, code="invalid_transition")
    before = snapshot(study)
    study.status = ImagingStudy.Status.READY
    study.save(update_fields=["status", "updated_at"])
    ensure_in_scope(study, user=actor, action=Action.CHANGE)
    audit_record(actor=actor, action="release_hold", instance=study, before=before, after=snapshot(study), reason=reason,
                 hospital_id=study.patient.hospital_id)
    held = list(study.series.filter(pipeline_state=Series.PipelineState.HELD).values_list("pk", flat=True))
    Series.objects.filter(pk__in=held).update(pipeline_state=Series.PipelineState.PENDING, pipeline_queued_at=timezone.now())
    for pk in held:
        work_queue_after_commit(Series, pk)
    return study
