"""Safety API shapes. Subjects appear by trial subject number only (never a registry study ID or identifier), so
sponsors and monitors from outside the hospital see the same de-identified rows as the site."""
from datetime import UTC, datetime
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from trials.models import Subject
from trials.oversight.api.fields import NamedChoiceField
from trials.safety import ae_form, ctcae
from trials.safety.ae_form import Expectedness, Relatedness
from trials.safety.models import AdverseEvent, AdverseEventVersion, ReportingClock


def _named(choices_class: type[models.TextChoices]) -> dict[str, Any]:
    """One OpenAPI enum per codelist, named after it (AdverseEventRelatedness, ...), whatever field it is on."""
    return {"choices_class": choices_class, "enum_name": f"AdverseEvent{choices_class.__name__}"}


RELATEDNESS = _named(Relatedness)
EXPECTEDNESS = _named(Expectedness)


class TermSerializer(serializers.Serializer):
    meddra_code = serializers.CharField()
    term = serializers.CharField()
    soc = serializers.CharField()
    needs_specify = serializers.BooleanField()
    grades = serializers.SerializerMethodField(help_text="Only the grades that exist for this term, with their CTCAE text.")
    definition = serializers.CharField()
    navigational_note = serializers.CharField()

    @extend_schema_field({"type": "array", "items": {"type": "object", "properties": {
        "grade": {"type": "integer"}, "meaning": {"type": "string"}, "text": {"type": "string"}}}})
    def get_grades(self, term: ctcae.Term) -> list[dict[str, Any]]:
        return [{"grade": g, "meaning": str(ctcae.GRADE_MEANINGS[g]), "text": text} for g, text in sorted(term.grades.items())]


@extend_schema_serializer(many=False)  # the list action answers one envelope, not an array (nor a page)
class TermListSerializer(serializers.Serializer):
    version = serializers.CharField(help_text="The CTCAE version the terms are from.")
    count = serializers.IntegerField()
    results = TermSerializer(many=True)


# A report as recorded: the declared fields between the version's own.
class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdverseEventVersion
        fields = ["version_number", "ctcae_version", *(field.name for field in ae_form.FIELDS), "reason", "recorded_by", "recorded_at"]

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in ae_form.FIELDS:
            if field.choices is not None:
                fields[field.name] = NamedChoiceField(**_named(field.choices), read_only=True)
        return fields


def utc(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


class ClockSerializer(serializers.ModelSerializer):
    """Times in the platform's time zone (Asia/Shanghai, +08:00), the due time also in UTC as stored."""

    adverse_event = serializers.IntegerField(source="event_id", read_only=True)
    kind = NamedChoiceField(ReportingClock.Kind, enum_name="ReportingClockKind", read_only=True)
    status = NamedChoiceField(ReportingClock.Status, enum_name="ReportingClockStatus", read_only=True)
    subject_number = serializers.CharField(source="event.subject.subject_number", read_only=True)
    trial_code = serializers.CharField(source="event.subject.trial.code", read_only=True)
    hospital_code = serializers.CharField(source="event.subject.site.hospital.code", read_only=True)
    due_at_utc = serializers.SerializerMethodField()
    seconds_left = serializers.SerializerMethodField(help_text="Until the due time, now; negative when past; null once reported.")

    class Meta:
        model = ReportingClock
        fields = ["id", "adverse_event", "subject_number", "trial_code", "hospital_code", "kind", "started_at", "due_at",
                  "due_at_utc", "seconds_left", "status", "about_to_lapse", "lapsed_at", "reported_at", "reported_by"]

    def get_due_at_utc(self, clock: ReportingClock) -> str | None:
        return utc(clock.due_at)

    def get_seconds_left(self, clock: ReportingClock) -> int | None:
        if clock.status in (ReportingClock.Status.MET, ReportingClock.Status.CANCELLED) or clock.reported_at:
            return None
        return int((clock.due_at - timezone.now()).total_seconds())


class AdverseEventSerializer(serializers.ModelSerializer):
    subject_number = serializers.CharField(source="subject.subject_number", read_only=True)
    trial_code = serializers.CharField(source="subject.trial.code", read_only=True)
    hospital_code = serializers.CharField(source="subject.site.hospital.code", read_only=True)
    current = VersionSerializer(source="current_version", read_only=True)
    sponsor_expectedness = NamedChoiceField(**EXPECTEDNESS, allow_blank=True, read_only=True)
    sponsor_causality = NamedChoiceField(**RELATEDNESS, allow_blank=True, read_only=True)

    class Meta:
        model = AdverseEvent
        fields = ["id", "subject", "subject_number", "trial_code", "hospital_code", "number", "is_serious", "grade", "current",
                  "site_awareness_at", "sponsor_awareness_at", "sponsor_expectedness", "sponsor_causality",
                  "sponsor_assessed_at", "is_susar", "created_at"]


class EventSignatureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    printed_name = serializers.CharField()
    signed_at = serializers.DateTimeField()
    meaning = serializers.CharField()
    status = serializers.CharField()
    voided_at = serializers.DateTimeField(allow_null=True)
    void_reason = serializers.CharField()


class AdverseEventDetailSerializer(AdverseEventSerializer):
    clocks = ClockSerializer(many=True, read_only=True)
    signatures = serializers.SerializerMethodField(help_text="Investigators' signatures, voided ones included (Part 11).")

    class Meta(AdverseEventSerializer.Meta):
        fields = [*AdverseEventSerializer.Meta.fields, "clocks", "signatures"]

    @extend_schema_field(EventSignatureSerializer(many=True))
    def get_signatures(self, event: AdverseEvent) -> list[dict[str, Any]]:
        from trials.oversight.services.signatures import all_signatures

        return EventSignatureSerializer(all_signatures(event), many=True).data


def _input_field(field: ae_form.ReportField, *, required: bool) -> serializers.Field:
    """The declared field as API input: its type and length are the model's, required-ness and help the declaration's."""
    model_field = AdverseEventVersion._meta.get_field(field.name)
    kwargs: dict[str, Any] = {"help_text": field.api_help} if field.api_help else {}
    if not required:
        kwargs["required"] = False
    if field.choices is not None:
        return NamedChoiceField(**_named(field.choices), **kwargs)
    if isinstance(model_field, models.BooleanField):
        return serializers.BooleanField(required=False, **{k: v for k, v in kwargs.items() if k != "required"})
    if model_field.null:
        kwargs["allow_null"] = True
    if isinstance(model_field, models.DateTimeField):  # before DateField: a DateTimeField is one
        return serializers.DateTimeField(**kwargs)
    if isinstance(model_field, models.DateField):
        return serializers.DateField(**kwargs)
    if isinstance(model_field, models.CharField):
        if model_field.blank:
            kwargs["allow_blank"] = True
        return serializers.CharField(max_length=model_field.max_length, **kwargs)
    if isinstance(model_field, models.IntegerField):
        for validator in model_field.validators:
            if isinstance(validator, MinValueValidator | MaxValueValidator):
                kwargs["min_value" if isinstance(validator, MinValueValidator) else "max_value"] = validator.limit_value
        return serializers.IntegerField(**kwargs)
    raise TypeError(f"No API input for {type(model_field).__name__} ({field.name}): add it here.")


# The report's entered fields, from the declaration (a comment, not a docstring: that would be the schema's text).
class ReportFieldsSerializer(serializers.Serializer):
    follow_up = False  # a follow-up sends only what changes: nothing is required

    def get_fields(self) -> dict[str, serializers.Field]:
        declared = {field.name: _input_field(field, required=field.required and not self.follow_up) for field in ae_form.ENTERED}
        return {**declared, **super().get_fields()}


class ReportSerializer(ReportFieldsSerializer):
    subject = serializers.PrimaryKeyRelatedField(queryset=Subject.objects.none(), help_text="The subject's id.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            from registry.access import Action

            # Only subjects the caller may enter data for; others read as "does not exist".
            self.fields["subject"].queryset = Subject.objects.restrict(request.user, Action.CHANGE)


class FollowUpSerializer(ReportFieldsSerializer):
    """Only the fields that change; the rest are carried over from the current version."""

    follow_up = True
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Required when the event is signed.")


class SponsorAssessmentSerializer(serializers.Serializer):
    expectedness = NamedChoiceField(**EXPECTEDNESS)
    causality = NamedChoiceField(**RELATEDNESS)
    sponsor_awareness_at = serializers.DateTimeField(required=False, allow_null=True,
                                                     help_text="Day 0 of a SUSAR clock; default: when the site's report was recorded.")
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Required to change an earlier assessment.")


class ClockReportSerializer(serializers.Serializer):
    reported_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Default: now.")
