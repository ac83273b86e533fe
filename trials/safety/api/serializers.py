"""Safety API shapes. Subjects appear by trial subject number only (never a registry study ID or identifier), so
sponsors and monitors from outside the hospital see the same de-identified rows as the site."""
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trials.models import Subject
from trials.oversight.api.fields import NamedChoiceField
from trials.safety import ctcae
from trials.safety.models import AdverseEvent, AdverseEventVersion, ReportingClock
from trials.safety.models.events import SERIOUSNESS_CRITERIA, ActionTaken, Expectedness, Outcome, Relatedness

CRITERIA = [name for name, _ in SERIOUSNESS_CRITERIA]
RELATEDNESS = {"choices_class": Relatedness, "enum_name": "AdverseEventRelatedness"}
EXPECTEDNESS = {"choices_class": Expectedness, "enum_name": "AdverseEventExpectedness"}
ACTION_TAKEN = {"choices_class": ActionTaken, "enum_name": "AdverseEventActionTaken"}
OUTCOME = {"choices_class": Outcome, "enum_name": "AdverseEventOutcome"}


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


class VersionSerializer(serializers.ModelSerializer):
    relatedness = NamedChoiceField(**RELATEDNESS, read_only=True)
    expectedness = NamedChoiceField(**EXPECTEDNESS, read_only=True)
    action_taken = NamedChoiceField(**ACTION_TAKEN, read_only=True)
    outcome = NamedChoiceField(**OUTCOME, read_only=True)

    class Meta:
        model = AdverseEventVersion
        fields = ["version_number", "ctcae_version", "meddra_code", "term", "soc", "other_specify", "onset_date",
                  "resolution_date", "grade", *CRITERIA, "is_serious", "relatedness", "expectedness", "action_taken",
                  "outcome", "death_date", "site_awareness_at", "reason", "recorded_by", "recorded_at"]


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


class ReportFieldsSerializer(serializers.Serializer):
    meddra_code = serializers.CharField(max_length=10, help_text="The CTCAE term's MedDRA code (see /safety/ctcae-terms/).")
    other_specify = serializers.CharField(max_length=200, required=False, allow_blank=True)
    onset_date = serializers.DateField()
    resolution_date = serializers.DateField(required=False, allow_null=True)
    grade = serializers.IntegerField(min_value=1, max_value=5)
    serious_death = serializers.BooleanField(required=False)
    serious_life_threatening = serializers.BooleanField(required=False)
    serious_hospitalisation = serializers.BooleanField(required=False)
    serious_disability = serializers.BooleanField(required=False)
    serious_congenital_anomaly = serializers.BooleanField(required=False)
    serious_other_important = serializers.BooleanField(required=False)
    relatedness = NamedChoiceField(**RELATEDNESS)
    expectedness = NamedChoiceField(**EXPECTEDNESS)
    action_taken = NamedChoiceField(**ACTION_TAKEN)
    outcome = NamedChoiceField(**OUTCOME)
    death_date = serializers.DateField(required=False, allow_null=True)
    site_awareness_at = serializers.DateTimeField(required=False, allow_null=True,
                                                  help_text="Required for a serious event: starts the 24-hour clock.")


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

    reason = serializers.CharField(required=False, allow_blank=True, help_text="Required when the event is signed.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class SponsorAssessmentSerializer(serializers.Serializer):
    expectedness = NamedChoiceField(**EXPECTEDNESS)
    causality = NamedChoiceField(**RELATEDNESS)
    sponsor_awareness_at = serializers.DateTimeField(required=False, allow_null=True,
                                                     help_text="Day 0 of a SUSAR clock; default: when the site's report was recorded.")
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Required to change an earlier assessment.")


class ClockReportSerializer(serializers.Serializer):
    reported_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Default: now.")
