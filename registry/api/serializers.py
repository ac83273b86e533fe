from rest_framework import serializers

from registry.models import AuditEvent, Hospital, HospitalMembership, Job, User


class HospitalSerializer(serializers.ModelSerializer):
    class Meta:
        model = Hospital
        fields = ["id", "code", "name_zh", "name_en", "province", "city", "is_lead", "is_active", "dosage_table"]


class HospitalUpdateSerializer(serializers.Serializer):
    name_zh = serializers.CharField(max_length=120, required=False)
    name_en = serializers.CharField(max_length=200, required=False)
    province = serializers.CharField(max_length=40, required=False)
    city = serializers.CharField(max_length=60, required=False)
    is_active = serializers.BooleanField(required=False)
    reason = serializers.CharField(help_text="Why the recorded data is changed (kept in the audit trail).")


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    hospital_code = serializers.CharField(source="hospital.code", read_only=True, default=None, allow_null=True)

    class Meta:
        model = HospitalMembership
        fields = ["id", "username", "hospital", "hospital_code", "role", "granted_at"]


class OwnMembershipSerializer(serializers.ModelSerializer):
    hospital = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True, help_text="Null: every hospital.")

    class Meta:
        model = HospitalMembership
        fields = ["hospital", "role"]


class MeSerializer(serializers.ModelSerializer):
    memberships = OwnMembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "preferred_language", "memberships"]


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "seq", "created_at", "actor_username", "action", "object_type", "object_id", "hospital_id", "trial_id",
            "before", "after", "reason", "request_id", "source", "prev_hash", "hash",
        ]


class JobSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "progress", "params", "result", "error", "error_code", "requested_by", "request_id",
            "attempts", "created_at", "started_at", "finished_at",
        ]
