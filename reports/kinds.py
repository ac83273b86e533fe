"""The registry of report kinds: how each validates and authorises its parameters and builds its document.

A kind is added by registering a ReportKind; the API, the ReportRun machinery and the formats need nothing
else. Four kinds register here: the registry cohort report, the sponsor trial report, the
diagnostic-performance report over a reading comparison (imaging/reading), and the data managers' de-identified
extract (reports/exports/), which streams its files to storage itself (`write_files`) instead of building a document.
"""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from registry.access import may
from registry.errors import ApplicationError
from registry.models import User
from reports.document import Progress, Report

# (actor, raw parameters) -> normalised JSON-safe parameters; raises ApplicationError (400), or
# Http404 / PermissionDenied for a trial the actor cannot see / may not report on.
Authorise = Callable[[User, dict[str, Any]], dict[str, Any]]
# (requester, normalised parameters) -> None; raises Http404 / PermissionDenied when the requester may not have this
# report. Called by `authorise` at request time and again by the engine when the run executes (a role revoked in
# between fails the run).
Permit = Callable[[User, dict[str, Any]], None]
# (requester, normalised parameters, progress callback) -> the document.
Build = Callable[[User, dict[str, Any], Progress], Report]


@dataclass(frozen=True)
class StoredFile:
    """A file a kind wrote to storage itself: name, format, storage key, size, SHA-256 and rows."""

    name: str
    format: str
    storage_key: str
    size: int
    sha256: str
    rows: int | None


@dataclass(frozen=True)
class Written:
    files: list[StoredFile]
    row_counts: dict[str, int]
    result: dict[str, Any]


# (requester, normalised parameters, progress, storage key for `file_name`) -> what was stored. For kinds whose output
# is too large to build as a document in memory (the data extract).
WriteFiles = Callable[[User, dict[str, Any], Progress, str], Written]


@dataclass(frozen=True)
class ReportKind:
    name: str
    title: str
    authorise: Authorise
    build: Build
    permit: Permit
    # The normalised parameter naming the trial the run belongs to (its sponsors see the run), if any.
    trial_param: str | None = None
    # Set for kinds that stream their own files (then `build` is not called).
    write_files: WriteFiles | None = None
    file_name: str = ""
    # The registry.access Rule whose holders are offered the kind's form (the Reports page's buttons); `permit` stays
    # the authority at request and at execution. Empty: offered to everyone who reaches the page.
    offered_to: str = ""

    def offered(self, user: User) -> bool:
        return not self.offered_to or may(user, self.offered_to)


_kinds: dict[str, ReportKind] = {}


def register_report_kind(kind: ReportKind) -> ReportKind:
    _kinds[kind.name] = kind
    return kind


def report_kind(name: str) -> ReportKind:
    _load()
    try:
        return _kinds[name]
    except KeyError:
        raise ApplicationError(_("Unknown report kind."), code="unknown_report_kind",
                               fields={"kind": [_("One of: %(choices)s.") % {"choices": ", ".join(sorted(_kinds))}]}) from None


def report_kinds() -> list[ReportKind]:
    _load()
    return [_kinds[k] for k in sorted(_kinds)]


def offered_kinds(user: User) -> list[ReportKind]:
    """The kinds whose form this user is offered: those a submission by them would not refuse for their role."""
    return [kind for kind in report_kinds() if kind.offered(user)]


def _load() -> None:
    # The kinds register themselves on import; importing here keeps models and the task free of import cycles.
    import reports.builders.cohort  # noqa: F401
    import reports.builders.diagnostic  # noqa: F401
    import reports.builders.dose_saving  # noqa: F401
    import reports.builders.lowdose_validation  # noqa: F401
    import reports.builders.trial  # noqa: F401
    import reports.exports.extract  # noqa: F401
