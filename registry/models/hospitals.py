from typing import ClassVar

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from nucmed.dosage import DosageTable
from registry.access import Action, HospitalRole, ScopedModel

DOSAGE_TABLE_CHOICES = [(DosageTable.EANM.value, _("EANM paediatric dosage card")),
                        (DosageTable.NORTH_AMERICA.value, _("North American consensus (weight-based)"))]


class Hospital(ScopedModel):
    """A participating site. Staff see the hospitals they work at; data managers change them."""

    code = models.CharField(
        _("code"), max_length=8, unique=True, help_text=_("Upper-case letters and digits; prefixes study IDs.")
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=200)
    province = models.CharField(_("province"), max_length=40)
    city = models.CharField(_("city"), max_length=60)
    is_lead = models.BooleanField(_("lead hospital"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    # Which paediatric dosage table the site's nuclear-medicine department follows; a trial's own choice
    # overrides it for the trial's doses.
    dosage_table = models.CharField(_("dosage table"), max_length=20, choices=DOSAGE_TABLE_CHOICES,
                                    default=DosageTable.EANM.value)

    scope_hospital_path = "pk"
    scope_hospital_roles: ClassVar = {
        Action.VIEW: frozenset(HospitalRole.values),
        Action.CHANGE: frozenset({HospitalRole.DATA_MANAGER}),
    }

    class Meta:
        ordering = ["code"]
        verbose_name = _("hospital")
        verbose_name_plural = _("hospitals")
        constraints = [
            models.CheckConstraint(condition=models.Q(code__regex=r"^[A-Z0-9]{2,8}$"), name="hospital_code_format"),
        ]

    @property
    def name(self) -> str:
        """The hospital's name in the reader's language: the Chinese name on Chinese pages (when it has one)."""
        chinese = (get_language() or "").lower().startswith("zh")
        return self.name_zh if chinese and self.name_zh else self.name_en

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
