"""The site-isolation matrix: every URL of the project (API, DICOMweb, pages, file downloads), called by every
standard actor.

Apps add their URLs in `tests/matrix_cases.py` (API and DICOMweb) and `tests/web_matrix_cases.py` (pages and
downloads) modules listed in MATRIX_MODULES: an `arrange` function that adds the rows the cases need to the world,
and a list CASES (CASES_IN_OTHER_WORLDS pairs further cases with another app's arrangement). Each case names the
URL, the method, the status every actor must get (from CODES below, the one table of what each kind of URL answers)
and, for lists, exactly which of the world's rows each actor must see. tests/test_access_matrix.py fails when a
URL pattern has no case, and when a refused request wrote anything.
"""
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model

from conftest import ACTOR_NAMES, TRIAL_ONLY_ACTORS, Actors


@dataclass(frozen=True)
class Codes:
    """What one kind of URL answers. The columns:

    ok         a permitted request (cases override it for a creation's 201 or a queued run's 202)
    anonymous  no session and no token: the API asks for credentials, a page sends to the login page
    hidden     the record is outside the actor's scope (another hospital's, a trial they hold no role in, or any record
               for a user with no role): always 404, never 403, so the answer does not tell that the record exists
    forbidden  the actor sees the record (or the list) but their role may not do this, e.g. a monitor writing
    invalid    refused as bad input, e.g. a request body naming a patient outside the actor's scope ("does not exist")
    """
    ok: int
    anonymous: int
    hidden: int = 404
    forbidden: int = 403
    invalid: int = 400


CODES: dict[str, Codes] = {
    "api": Codes(ok=200, anonymous=401),         # /api/v1/: DRF, session or token
    "dicomweb": Codes(ok=200, anonymous=401),    # /dicomweb/: QIDO-RS and WADO-RS
    "page": Codes(ok=200, anonymous=302),        # a server-rendered page (or htmx fragment) read with GET
    "page write": Codes(ok=302, anonymous=302),  # a page form's POST: a successful write redirects to the result
    "file": Codes(ok=200, anonymous=302),        # a download behind the login: report files, figures, preview images
}
PAGE_KINDS = ("page", "page write", "file")

MATRIX_MODULES = [
    "registry.tests.matrix_cases",
    "imaging.tests.matrix_cases",
    "trials.tests.matrix_cases",
    "trials.oversight.tests.matrix_cases",
    "trials.safety.tests.matrix_cases",
    "imaging.reading.tests.matrix_cases",
    "imaging.lowdose.tests.matrix_cases",
    "imaging.enhancement.tests.matrix_cases",
    "reports.tests.matrix_cases",
    "registry.tests.web_matrix_cases",
    "imaging.tests.web_matrix_cases",
    "trials.tests.web_matrix_cases",
    "trials.safety.tests.web_matrix_cases",
    "trials.oversight.tests.web_matrix_cases",
    "imaging.reading.tests.web_matrix_cases",
    "imaging.lowdose.tests.web_matrix_cases",
    "imaging.enhancement.tests.web_matrix_cases",
    "reports.tests.web_matrix_cases",
]


@dataclass
class World:
    actors: Actors
    rows: dict[str, Model] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Model:
        return self.rows[key]


def statuses(*, kind: str = "api", ok: Iterable[str] = (), hidden: Iterable[str] = (), forbidden: Iterable[str] = (),
             invalid: Iterable[str] = (), ok_status: int | None = None, anonymous: int | None = None) -> dict[str, int]:
    """Expected status per actor, from the CODES row of this kind of URL: `ok` get its ok (or ok_status), `hidden` its
    hidden, `forbidden` its forbidden, `invalid` its invalid; all must be named, except the trial-only actors, who get
    what `nobody` gets unless named (they hold no hospital role). `anonymous` overrides the table for the one URL that
    takes no session (the token endpoint reads the credentials in its body)."""
    codes = CODES[kind]
    table = {**{a: ok_status or codes.ok for a in ok}, **{a: codes.hidden for a in hidden},
             **{a: codes.forbidden for a in forbidden}, **{a: codes.invalid for a in invalid}}
    table["anonymous"] = codes.anonymous if anonymous is None else anonymous
    for actor in TRIAL_ONLY_ACTORS:
        if actor not in table and "nobody" in table:
            table[actor] = table["nobody"]
    missing = set(ACTOR_NAMES) - set(table)
    if missing:
        raise ValueError(f"matrix case leaves actors unspecified: {sorted(missing)}")
    return table


AUTHENTICATED = tuple(a for a in ACTOR_NAMES if a != "anonymous")
# Actors holding a role at some hospital (or all of them).
HOSPITAL_MEMBERS = tuple(a for a in AUTHENTICATED if a not in ("nobody", *TRIAL_ONLY_ACTORS))


@dataclass(frozen=True)
class Case:
    name: str
    url_name: str
    expect: Mapping[str, int]
    method: str = "get"
    args: Callable[[World], list[Any]] = lambda w: []
    data: Callable[[World, str], dict[str, Any]] | None = None
    # For lists: the world's rows that may appear, and which of them each actor must see (exactly).
    universe: tuple[str, ...] = ()
    visible: Mapping[str, set[str]] | None = None
    id_field: str = "id"
    format: str = "json"
    row_id: Callable[[Model], Any] = lambda row: row.pk

    def visible_to(self, actor: str) -> set[str]:
        """The rows `actor` must see; trial-only actors not named see none (like `nobody`)."""
        assert self.visible is not None
        if actor in TRIAL_ONLY_ACTORS and actor not in self.visible:
            return set()
        return self.visible[actor]


def page_case(name: str, url_name: str, expect: Mapping[str, int], **fields: Any) -> Case:
    """A page or download: sent as a browser sends it (a form POST is multipart); named "web: <name>"."""
    return Case(f"web: {name}", url_name, expect, format="multipart", **fields)


@functools.cache
def both(first: Callable[[World], None], second: Callable[[World], None]) -> Callable[[World], None]:
    """One arrangement after another. Cached, so that every module combining the same two shares one world."""
    def arrange(world: World) -> None:
        first(world)
        second(world)

    return arrange


def all_cases() -> list[tuple[Callable[[World], None], Case]]:
    """Every module's cases with the arrangement they need, grouped by arrangement (in first-seen order), so that
    the test builds each world once."""
    import importlib

    found: list[tuple[Callable[[World], None], Case]] = []
    for module_name in MATRIX_MODULES:
        module = importlib.import_module(module_name)
        found += [(module.arrange, case) for case in getattr(module, "CASES", [])]
        if hasattr(module, "CLINICAL_CASES"):
            clinical = getattr(module, "arrange_clinical", None)
            setup = both(module.arrange, clinical) if clinical else module.arrange_imaging
            found += [(setup, case) for case in module.CLINICAL_CASES]
        # Cases of this module's URLs that need another app's world (e.g. a query raised on a trial visit).
        for other_arrange, cases in getattr(module, "CASES_IN_OTHER_WORLDS", ()):
            found += [(other_arrange, case) for case in cases]
    order = list(dict.fromkeys(arrange for arrange, _case in found))
    return sorted(found, key=lambda pair: order.index(pair[0]))
