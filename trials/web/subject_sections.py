"""Parts of the subject page that belong to the trials sub-apps: the adverse events (safety) and the data queries on
visits and doses (oversight).

The trials app does not import its sub-apps (the import contracts in pyproject.toml), so, as for the patient page's
panels, each sub-app registers a section from its AppConfig.ready(): `fn(user, subject, context)` adds its keys to
the page's context (or marks the rows already there, e.g. each visit's queries), reading through its own selectors
(scoped to the user). A page without a section shows the template's empty state.
"""
from collections.abc import Callable
from typing import Any

from trials.models import Subject

SubjectSection = Callable[[Any, Subject, dict[str, Any]], None]
_sections: dict[str, SubjectSection] = {}


def register_subject_section(name: str) -> Callable[[SubjectSection], SubjectSection]:
    def register(fn: SubjectSection) -> SubjectSection:
        _sections[name] = fn  # by name, so a module imported twice registers once
        return fn

    return register


def add_subject_sections(user: Any, subject: Subject, context: dict[str, Any]) -> None:
    for section in _sections.values():
        section(user, subject, context)
