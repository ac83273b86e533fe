"""The ingest's fixed statements, written once as SQL with parameters instead of compiled by the ORM per request.

A one-instance request (STOW-RS, a PACS forward, C-STORE) spent about a third of its CPU in Django's SQL compiler for
statements whose shape never changes: the rows already filed under the file's UIDs, the upload and instance inserts,
the series' aggregate and update (docs/performance.md, "One instance per request, third pass"). Here each statement's
text is built once per model and database vendor from the model's own fields, values go in through each field's own
`get_db_prep_save` and come back through the same converters the ORM applies, so the rows are the ORM's rows.

Not here, on purpose: anything that decides access (registry.access), the consent check, the audit event (its
service keeps the chain), and the rare rows (conflicts), which stay on the ORM.
"""
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Field, Model

from imaging.models import ImagingStudy, Instance, Series

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]
# Rows per INSERT: well under SQLite's and PostgreSQL's limits on parameters (Instance has 13 columns).
INSERT_CHUNK = 500


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@dataclass(frozen=True)
class _Shape:
    """A model's concrete fields as read and written here: their columns, attnames and the ORM's converters."""

    model: type[Model]
    fields: tuple[Field, ...]
    attnames: tuple[str, ...]
    converters: tuple[tuple[int, Any, tuple[Converter, ...]], ...]  # (position, the column expression, converters)

    def select(self, alias: str) -> str:
        return ", ".join(f"{alias}.{_quote(f.column)}" for f in self.fields)

    def build(self, row: Sequence[Any]) -> Model:
        values = list(row)
        for i, col, converters in self.converters:
            for convert in converters:
                values[i] = convert(values[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


@cache
def _shape(model: type[Model], alias: str, names: tuple[str, ...] = ()) -> _Shape:
    """`names` limits the fields read (attnames; the primary key first); all concrete fields when empty."""
    fields = tuple(model._meta.concrete_fields) if not names else tuple(model._meta.get_field(n) for n in names)
    converters = []
    for i, f in enumerate(fields):
        col = f.get_col(model._meta.db_table)
        found = tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        if found:
            converters.append((i, col, found))
    return _Shape(model, fields, tuple(f.attname for f in fields), tuple(converters))


def _marks(n: int) -> str:
    return ", ".join(["%s"] * n)


def _rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def filed_series(series_uids: Iterable[str]) -> dict[str, Series]:
    """The series already filed under these UIDs, each with its study (as select_related("study") gives it)."""
    uids = sorted(set(series_uids))
    if not uids:
        return {}
    series, study = _shape(Series, connection.alias), _shape(ImagingStudy, connection.alias)
    sql = (f"SELECT {series.select('s')}, {study.select('t')} FROM {_quote(Series._meta.db_table)} s"
           f" INNER JOIN {_quote(ImagingStudy._meta.db_table)} t ON t.{_quote('id')} = s.{_quote('study_id')}"
           f" WHERE s.{_quote('series_uid')} IN ({_marks(len(uids))})")
    out: dict[str, Series] = {}
    width = len(series.fields)
    for row in _rows(sql, uids):
        s = series.build(row[:width])
        s.study = study.build(row[width:])  # type: ignore[attr-defined]
        out[s.series_uid] = s  # type: ignore[attr-defined]
    return out


def studies_by_uid(study_uids: Iterable[str]) -> dict[str, ImagingStudy]:
    uids = sorted(set(study_uids))
    if not uids:
        return {}
    study = _shape(ImagingStudy, connection.alias)
    sql = (f"SELECT {study.select('t')} FROM {_quote(ImagingStudy._meta.db_table)} t"
           f" WHERE t.{_quote('study_uid')} IN ({_marks(len(uids))})")
    return {s.study_uid: s for s in (study.build(row) for row in _rows(sql, uids))}  # type: ignore[attr-defined]


_INSTANCE_KEYS = ("id", "series", "sop_instance_uid", "sha256")


def instances_by_uid(sop_uids: Iterable[str]) -> dict[str, Instance]:
    """The instances filed under these UIDs: what placing a file needs of them (id, series, UID, content hash) only."""
    uids = sorted(set(sop_uids))
    if not uids:
        return {}
    shape = _shape(Instance, connection.alias, _INSTANCE_KEYS)
    sql = (f"SELECT {shape.select('i')} FROM {_quote(Instance._meta.db_table)} i"
           f" WHERE i.{_quote('sop_instance_uid')} IN ({_marks(len(uids))})")
    return {i.sop_instance_uid: i for i in (shape.build(row) for row in _rows(sql, uids))}  # type: ignore[attr-defined]


@cache
def _insert_fields(model: type[Model]) -> tuple[Field, ...]:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


@cache
def _insert_head(model: type[Model], vendor: str) -> str:
    """`INSERT INTO table (columns)` of a model's insertable fields, built once per model and database vendor (the
    quoting is the vendor's)."""
    return f"INSERT INTO {_quote(model._meta.db_table)} ({', '.join(_quote(f.column) for f in _insert_fields(model))})"


def _prepared(obj: Model, fields: tuple[Field, ...]) -> list[Any]:
    """The values as the ORM's INSERT sends them (auto_now_add filled in on the object, as save() does)."""
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def adopted(obj: M, pk: Any) -> M:
    """The new row's object, as the ORM leaves it once inserted with this primary key."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def insert_parts(obj: Model) -> tuple[str, list[Any]]:
    """The INSERT of a new row, without RETURNING, and its values: for a statement that builds on it."""
    model = type(obj)
    fields = _insert_fields(model)
    return f"{_insert_head(model, connection.vendor)} VALUES ({_marks(len(fields))})", _prepared(obj, fields)


def insert_one(obj: M) -> M:
    """INSERT the new row and set its primary key (RETURNING: SQLite >= 3.35, PostgreSQL)."""
    sql, values = insert_parts(obj)
    return adopted(obj, _rows(f"{sql} RETURNING {_quote(type(obj)._meta.pk.column)}", values)[0][0])


def insert_many(objs: Sequence[Model]) -> None:
    """INSERT new rows of one model, INSERT_CHUNK per statement; their primary keys are not read back."""
    if not objs:
        return
    model = type(objs[0])
    fields = _insert_fields(model)
    head = f"{_insert_head(model, connection.vendor)} VALUES "
    row = f"({_marks(len(fields))})"
    with connection.cursor() as cursor:
        for start in range(0, len(objs), INSERT_CHUNK):
            chunk = objs[start:start + INSERT_CHUNK]
            cursor.execute(head + ", ".join([row] * len(chunk)), [v for obj in chunk for v in _prepared(obj, fields)])
            for obj in chunk:
                obj._state.adding = False
                obj._state.db = connection.alias


def update_columns(model: type[Model], pk: Any, columns: dict[str, Any]) -> None:
    """UPDATE one row's named fields (attnames) to these values, as queryset.update() would write them."""
    fields = [model._meta.get_field(name) for name in columns]
    assignments = ", ".join(f"{_quote(f.column)} = %s" for f in fields)
    params = [f.get_db_prep_save(value, connection) for f, value in zip(fields, columns.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_quote(model._meta.db_table)} SET {assignments} WHERE {_quote(model._meta.pk.column)} = %s",
                       [*params, pk])


def update_many(model: type[Model], names: tuple[str, ...], rows: Iterable[tuple[Any, tuple[Any, ...]]]) -> None:
    """UPDATE the named fields of many rows, each (pk, its values in `names`' order), as one prepared statement run
    for every row (queryset.bulk_update builds a CASE per field and row instead)."""
    fields = [model._meta.get_field(name) for name in names]
    assignments = ", ".join(f"{_quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {_quote(model._meta.db_table)} SET {assignments} WHERE {_quote(model._meta.pk.column)} = %s"
    params = [[*(f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)), pk] for pk, values in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


@dataclass(frozen=True)
class SeriesIndex:
    """What imaging.pipeline.index_values aggregates over a series' instances (published ones: not quarantined)."""

    all: int
    published: int
    z_min: float | None
    z_max: float | None
    first: str | None
    last: str | None


def series_index(series_id: int) -> SeriesIndex:
    table = _quote(Instance._meta.db_table)
    published = f"{_quote('quarantine_reason')} = ''"
    acquisition = f"NULLIF({_quote('acquisition')}, '')"
    position = _quote("slice_position")
    row = _rows(
        f"SELECT COUNT(*), COUNT(CASE WHEN {published} THEN 1 END),"
        f" MIN(CASE WHEN {published} THEN {position} END), MAX(CASE WHEN {published} THEN {position} END),"
        f" MIN(CASE WHEN {published} THEN {acquisition} END), MAX(CASE WHEN {published} THEN {acquisition} END)"
        f" FROM {table} WHERE {_quote('series_id')} = %s", [series_id])[0]
    return SeriesIndex(all=row[0], published=row[1], z_min=_float(row[2]), z_max=_float(row[3]), first=row[4], last=row[5])


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
