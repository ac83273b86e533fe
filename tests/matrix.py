"""The site-isolation matrix: every API endpoint, called by every standard actor.

Apps add their endpoints in a `tests/matrix_cases.py` module listed in MATRIX_MODULES: an `arrange`
function that adds the rows the cases need to the world, and a list CASES. Each case names the URL,
the method, the status every actor must get and, for lists, exactly which of the world's rows each
actor must see. tests/test_access_matrix.py also fails when an /api/v1/ URL has no case.
"""
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model

from conftest import ACTOR_NAMES, TRIAL_ONLY_ACTORS, Actors

MATRIX_MODULES = [
    "registry.tests.matrix_cases",
    "imaging.tests.matrix_cases",
    "trials.tests.matrix_cases",
    "trials.oversight.tests.matrix_cases",
    "trials.safety.tests.matrix_cases",
    "imaging.reading.tests.matrix_cases",
    "reports.tests.matrix_cases",
]


@dataclass
class World:
    actors: Actors
    rows: dict[str, Model] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Model:
        return self.rows[key]


def statuses(*, ok: Iterable[str] = (), hidden: Iterable[str] = (), forbidden: Iterable[str] = (),
             invalid: Iterable[str] = (), ok_status: int = 200, anonymous: int = 401) -> dict[str, int]:
    """Expected status per actor: `ok` get ok_status, `hidden` 404, `forbidden` 403, `invalid` 400 (e.g. naming
    a patient outside their scope in a request body, which reads as "does not exist"); all must be named,
    except the trial-only actors, who get what `nobody` gets unless named (they hold no hospital role)."""
    table = {**{a: ok_status for a in ok}, **{a: 404 for a in hidden}, **{a: 403 for a in forbidden},
             **{a: 400 for a in invalid}}
    table["anonymous"] = anonymous
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


def _both(first: Callable[[World], None], second: Callable[[World], None]) -> Callable[[World], None]:
    def arrange(world: World) -> None:
        first(world)
        second(world)

    return arrange


def all_cases() -> list[tuple[Callable[[World], None], Case]]:
    import importlib

    found = []
    for module_name in MATRIX_MODULES:
        module = importlib.import_module(module_name)
        found += [(module.arrange, case) for case in getattr(module, "CASES", [])]
        if hasattr(module, "CLINICAL_CASES"):
            clinical = getattr(module, "arrange_clinical", None)
            setup = _both(module.arrange, clinical) if clinical else module.arrange_imaging
            found += [(setup, case) for case in module.CLINICAL_CASES]
    return found
