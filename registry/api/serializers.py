from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from registry.models import AuditEvent, Hospital, HospitalMembership, Job, User

# The largest row id a request may name: a signed 64-bit integer, what PostgreSQL's bigint and SQLite's INTEGER hold. A
# larger number names no row, and the database driver would refuse it with an error instead of "no such row".
ROW_ID_MAX = 2**63 - 1


def row_id_field(**kwargs: Any) -> serializers.IntegerField:
    """An input field for a row's id: 1 to ROW_ID_MAX, anything else 400 with the field named."""
    return serializers.IntegerField(min_value=1, max_value=ROW_ID_MAX, **kwargs)


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


# -- Lists: the page's rows as values(), represented without DRF's per-row, per-field attribute walk --------------

_Plan = list[tuple[str, str | None, Callable[[Any], Any] | None]]
_PLAIN = (serializers.CharField, serializers.ChoiceField, serializers.IntegerField, serializers.PrimaryKeyRelatedField)


@cache
def _row_plan(serializer_class: type[serializers.Serializer]) -> _Plan:
    """For each field of the serializer: its output name, its values() key (source with __) and its converter.

    Text, choices, whole numbers and related primary keys come out of values() as the serializer prints them (no
    converter); every other field (dates, times in the current time zone, floats, JSON, booleans that SQLite returns
    as 0/1) goes through the field's own to_representation, so a row reads exactly as the serializer's. Method fields
    and nested serializers have no key: the caller computes them (rows_as(..., name=function of the row)).
    """
    plan: _Plan = []
    for name, field in serializer_class().fields.items():
        if field.source == "*" or isinstance(field, serializers.BaseSerializer):
            plan.append((name, None, None))
            continue
        key = field.source.replace(".", "__")
        if isinstance(field, serializers.PrimaryKeyRelatedField):
            # The column (subject_id), not the relation's name: a default ordering that names the relation (as
            # AdverseEvent's "subject") would otherwise sort by the selected id instead of the related model's order.
            key += "_id"
        plan.append((name, key, None if isinstance(field, _PLAIN) else field.to_representation))
    return plan


def row_keys(serializer_class: type[serializers.Serializer]) -> list[str]:
    """The values() keys that rows_as needs for this serializer."""
    return [key for _name, key, _convert in _row_plan(serializer_class) if key is not None]


def rows_as(serializer_class: type[serializers.Serializer], rows: Iterable[Mapping[str, Any]],
            **computed: Callable[[Mapping[str, Any]], Any]) -> list[dict[str, Any]]:
    """values() rows (row_keys) represented as serializer_class represents the objects: same fields, order, formats.

    `computed` gives the fields without a key (method fields, nested lists) as functions of the row.
    """
    plan = _row_plan(serializer_class)
    out = []
    for row in rows:
        item = {}
        for name, key, convert in plan:
            if key is None:
                item[name] = computed[name](row)
            else:
                value = row[key]
                item[name] = value if convert is None or value is None else convert(value)
        out.append(item)
    return out


def list_filtered(view: Any, rows: QuerySet[Any]) -> QuerySet[Any]:
    """view.filter_queryset(rows), skipped when the query string holds only the page and page size: the filter
    backends would build and validate an empty filter form (about a fifth of a 50-row list's time) to change nothing."""
    paginator = view.paginator
    paging = {getattr(paginator, "page_query_param", None), getattr(paginator, "page_size_query_param", None)}
    if all(name in paging for name in view.request.query_params):
        return rows
    return view.filter_queryset(rows)


class KeysFirst:
    """What a list hands the paginator: it counts `rows` as they are, and a slice (the page) becomes `page(sliced)`.

    So the page's expensive columns (e.g. consent flags) are computed for the page's rows, not for every row before
    the database sorts and cuts.
    """

    ordered = True

    def __init__(self, rows: QuerySet[Any], page: Callable[[QuerySet[Any]], Iterable[Any]]) -> None:
        self.rows, self.page = rows, page

    def count(self) -> int:
        return self.rows.count()

    def __getitem__(self, window: slice) -> list[Any]:
        if window.start == window.stop:  # an empty list's (empty) first page
            return []
        return list(self.page(self.rows[window]))
