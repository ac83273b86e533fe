"""Reading comparisons: define one, record a unit's reference standard, record each method's read."""
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from imaging.models import ImagingStudy
from imaging.reading.models import ComparisonUnit, ReadingComparison, UnitRead
from registry.access import Action, ensure_in_scope
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import Patient, User
from registry.services.common import validate


def _save_unique(instance, message: str) -> None:  # type: ignore[no-untyped-def]
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise ApplicationError(message, code="duplicate") from None


@transaction.atomic
def reading_comparison_create(*, actor: User, name: str, method_a: str, method_b: str, unit: str = ReadingComparison.Unit.LESION,
                              description: str = "") -> ReadingComparison:
    """Define a comparison of two methods (data managers)."""
    comparison = ReadingComparison(name=name, method_a=method_a, method_b=method_b, unit=unit, description=description,
                                   created_by=actor)
    validate(comparison, exclude=["created_by", "name"])
    _save_unique(comparison, _("A comparison with this name exists."))
    ensure_in_scope(comparison, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=comparison, after=snapshot(comparison))
    return comparison


@transaction.atomic
def comparison_unit_create(*, actor: User, comparison: ReadingComparison, patient: Patient, reference_positive: bool,
                           reference_source: str, label: str = "patient", study: ImagingStudy | None = None) -> ComparisonUnit:
    """Record a lesion (or patient) and its reference standard; the study, if given, must be the patient's."""
    if study is not None and study.patient_id != patient.pk:
        raise ApplicationError(_("The imaging study is not this patient's."), code="invalid",
                               fields={"study": [_("Not this patient's study.")]})
    unit = ComparisonUnit(comparison=comparison, patient=patient, study=study, label=label,
                          reference_positive=reference_positive, reference_source=reference_source)
    validate(unit, exclude=["comparison", "patient", "study"])
    _save_unique(unit, _("This patient already has a unit with this label in the comparison."))
    ensure_in_scope(unit, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=unit, after=snapshot(unit), hospital_id=patient.hospital_id)
    return unit


@transaction.atomic
def unit_read_record(*, actor: User, unit: ComparisonUnit, method: str, positive: bool) -> UnitRead:
    """Record one method's read of a unit, by the actor; each method is read once per unit."""
    read = UnitRead(unit=unit, method=method, positive=positive, reader=actor)
    validate(read, exclude=["unit", "reader"])
    _save_unique(read, _("This unit already has a read by this method."))
    ensure_in_scope(read, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=read, after=snapshot(read), hospital_id=unit.patient.hospital_id)
    return read
