"""The de-identified data extract for data managers: one CSV per table plus a data dictionary, in one zip.

Streamed: each table is one query read in chunks (`iterator(chunk_size=...)`) and its rows are written to the zip
(a temporary file) as they are read, so no table is ever held in memory; the zip is then saved to storage.
Byte-identical for identical data: rows in a fixed order, cells written as the report CSVs are, fixed zip entry
times and attributes. Patients who withdrew the use of their data by `as_of` are in no table.
"""
import csv
import hashlib
import io
import tempfile
import zipfile
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry.access import Rule
from registry.models import Hospital, Patient, User
from registry.selectors import patients_for_research
from reports.document import Progress
from reports.exports.definitions import TABLES
from reports.exports.tables import Table, field_type, model_field
from reports.kinds import ReportKind, StoredFile, Written, register_report_kind
from reports.params import as_of_date, refuse_unknown
from reports.renderers import _csv_text

CHUNK = 2000
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # entries carry no time of generation
DICTIONARY = "data_dictionary.csv"
DICTIONARY_COLUMNS = ["table", "column", "type", "description", "code_list"]


def authorise(user: User, params: dict[str, Any]) -> dict[str, Any]:
    """Data managers only (sponsors never: they hold no hospital role); `as_of` decides who withdrew their data."""
    refuse_unknown(params, {"as_of"})
    normalised = {"as_of": as_of_date(params).isoformat()}
    permit(user, normalised)
    return normalised


def permit(user: User, params: dict[str, Any]) -> None:  # noqa: ARG001
    """The one rule, at request and at execution: data managers (Rule.EXTRACT), over their hospitals or all."""
    if not Hospital.objects.restrict(user, Rule.EXTRACT).exists():
        raise PermissionDenied(_("Data extracts are for data managers."))


def extract_patients(user: User, as_of: date) -> QuerySet[Patient]:
    return patients_for_research(user=user, on=as_of).filter(hospital__in=Hospital.objects.restrict(user, Rule.EXTRACT))


def _code_list(table: Table, path: str | None) -> str:
    if not path:
        return ""
    f = model_field(table.model, path)
    with translation.override("en"):
        return "; ".join(f"{value}={label}" for value, label in (f.choices or []))


def dictionary() -> list[dict[str, str]]:
    """table, column, type, description, code list (value=label; ...) of every column of every table."""
    rows = []
    for table in TABLES:
        for c in table.columns:
            kind = c.type or field_type(model_field(table.model, c.path or ""))
            rows.append({"table": table.name, "column": c.name, "type": kind, "description": c.description,
                         "code_list": _code_list(table, c.path)})
    return rows


def _entry(zf: zipfile.ZipFile, name: str) -> io.TextIOWrapper:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return io.TextIOWrapper(zf.open(info, "w"), encoding="utf-8", newline="")


def _text(value: Any) -> str:
    """As the report CSVs write a cell (renderers._csv_text), with the common types first: millions of cells."""
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return str(value)
    if kind is date:
        return value.isoformat()
    return _csv_text(value)  # booleans, decimals, floats, datetimes


def _write_table(zf: zipfile.ZipFile, user: User, patients: QuerySet[Patient], table: Table) -> int:
    paths = table.paths()
    count = 0
    with _entry(zf, f"{table.name}.csv") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([c.name for c in table.columns])
        for values in table.rows(user, patients).values_list(*paths).iterator(chunk_size=CHUNK):
            row = dict(zip(paths, values, strict=True))
            writer.writerow([_text(c.derive(row) if c.derive else row[c.path]) for c in table.columns])  # type: ignore[index]
            count += 1
    return count


def write(user: User, params: dict[str, Any], progress: Progress, key: str) -> Written:
    """Write the zip to storage under `key`; progress moves on after each table."""
    as_of = date.fromisoformat(params["as_of"])
    patients = extract_patients(user, as_of)
    counts: dict[str, int] = {}
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as tmp:
        with zipfile.ZipFile(tmp, "w") as zf:
            with _entry(zf, DICTIONARY) as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(DICTIONARY_COLUMNS)
                writer.writerows([r[c] for c in DICTIONARY_COLUMNS] for r in dictionary())
            for i, table in enumerate(TABLES, start=1):
                counts[table.name] = _write_table(zf, user, patients, table)
                progress(5 + 85 * i // len(TABLES))
        size = tmp.tell()
        tmp.seek(0)
        for chunk in iter(lambda: tmp.read(1 << 20), b""):
            digest.update(chunk)
        tmp.seek(0)
        stored = default_storage.save(key, File(tmp, name=key.rsplit("/", 1)[-1]))
    name = key.rsplit("/", 1)[-1]
    result = {"kind": "extract", "title": f"De-identified data extract as of {as_of.isoformat()}", "params": params,
              "notes": ["Patients who withdrew the use of their data by the reference date are excluded from every table.",
                        "Patients are known by pseudonymous keys; no identifier, date of birth or free text is included."],
              "tables": [{"name": t.name, "description": t.description, "rows": counts[t.name]} for t in TABLES],
              "dictionary": dictionary()}
    return Written(files=[StoredFile(name, "zip", stored, size, digest.hexdigest(), sum(counts.values()))],
                   row_counts=counts, result=result)


def _no_document(user: User, params: dict[str, Any], progress: Progress):  # type: ignore[no-untyped-def]
    raise TypeError("The extract writes files directly (see write).")


EXTRACT = register_report_kind(ReportKind("extract", gettext_lazy("De-identified data extract (data managers)"), authorise, _no_document, permit,
                                          write_files=write, file_name="extract.zip",
                                          offered_to=Rule.EXTRACT))
