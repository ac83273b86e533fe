from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import Action, HospitalRole, ScopedModel, TrialRole


class AuditEvent(ScopedModel):
    """One entry of the append-only, hash-chained audit trail.

    Rows are only ever inserted by registry.audit.audit_record(); on PostgreSQL triggers refuse
    UPDATE, DELETE and TRUNCATE. `hash` covers the canonical JSON of the event and `prev_hash`, so
    altering or removing any row breaks every link after it (see `manage.py audit_verify`).
    `hash_version` names the scheme: 1 = plain SHA-256 (events written before the key existed),
    2 = HMAC-SHA256 with settings.AUDIT_HMAC_KEY, which is not in the database.
    """

    class HashVersion(models.IntegerChoices):
        SHA256 = 1, _("SHA-256 (legacy, unkeyed)")
        HMAC_SHA256 = 2, _("HMAC-SHA256 (keyed)")

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(editable=False, db_index=True)
    actor = models.ForeignKey(
        "registry.User", on_delete=models.PROTECT, null=True, related_name="+", editable=False
    )
    actor_username = models.CharField(max_length=150, editable=False)
    action = models.CharField(max_length=40, editable=False)
    object_type = models.CharField(max_length=80, editable=False)
    object_id = models.CharField(max_length=64, editable=False, blank=True)
    # Plain integers rather than foreign keys: the trail must outlive and never cascade with its subjects.
    hospital_id = models.BigIntegerField(null=True, editable=False)
    trial_id = models.BigIntegerField(null=True, editable=False)
    before = models.JSONField(null=True, editable=False)
    after = models.JSONField(null=True, editable=False)
    reason = models.TextField(blank=True, editable=False)
    request_id = models.CharField(max_length=64, editable=False)
    source = models.CharField(max_length=16, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)
    # No default: registry.audit sets the current scheme; the migration marks the rows written before it as 1.
    hash_version = models.PositiveSmallIntegerField(choices=HashVersion, editable=False)

    scope_hospital_path = "hospital_id"
    scope_trial_path = "trial_id"
    scope_hospital_roles: ClassVar = {Action.VIEW: frozenset({HospitalRole.DATA_MANAGER, HospitalRole.MONITOR})}
    scope_trial_roles: ClassVar = {Action.VIEW: frozenset({TrialRole.MONITOR})}

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit event")
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """The single row that serialises appends: writers lock it, so concurrent writers cannot fork the chain.

    On PostgreSQL a trigger lets it move only forward, one event at a time, to the event just appended
    (so nobody can delete the last events and set the head back to match), and refuses DELETE and TRUNCATE.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single_row")]

    def __str__(self) -> str:
        return f"audit head #{self.seq}"
