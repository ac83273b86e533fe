from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import Action, HospitalRole, ScopedModel

SYSTEM_USERNAME = "system"


class User(AbstractUser):
    """A person (or the built-in "system" actor that seeds and sweeps run as).

    Access comes only from memberships, never from is_staff/is_superuser: a superuser with no
    membership sees no clinical data through the API.
    """

    preferred_language = models.CharField(_("preferred language"), max_length=10, blank=True)
    # The built-in actor of seeds, sweeps and commands: registry.access grants it the platform set-up rules.
    # Set by the migration that creates it and by nothing a form or the API can reach.
    is_system_actor = models.BooleanField(_("system actor"), default=False, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class HospitalMembership(ScopedModel):
    """A role at one hospital; with no hospital, a data manager's role at every hospital."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    hospital = models.ForeignKey(
        "registry.Hospital", on_delete=models.PROTECT, null=True, blank=True, related_name="memberships",
        help_text=_("Empty means every hospital (data managers only)."),
    )
    role = models.CharField(_("role"), max_length=20, choices=HospitalRole.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    # Data managers administer who works at their hospitals; everyone may see their colleagues.
    scope_hospital_roles: ClassVar = {
        Action.VIEW: frozenset(HospitalRole.values),
        Action.ADD: frozenset({HospitalRole.DATA_MANAGER}),
        Action.CHANGE: frozenset({HospitalRole.DATA_MANAGER}),
        Action.DELETE: frozenset({HospitalRole.DATA_MANAGER}),
    }

    class Meta:
        verbose_name = _("hospital membership")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "hospital", "role"], name="membership_unique"),
            models.UniqueConstraint(
                fields=["user", "role"], condition=models.Q(hospital__isnull=True), name="membership_everywhere_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(hospital__isnull=False) | models.Q(role=HospitalRole.DATA_MANAGER),
                name="membership_all_hospitals_only_data_manager",
            ),
        ]

    def __str__(self) -> str:
        where = self.hospital.code if self.hospital_id else "ALL"
        return f"{self.user} {self.role}@{where}"
