"""Sections of the patient page that belong to apps further along the dependency chain (imaging, trials).

Registry cannot import those apps (dependencies point one way; the import contracts in pyproject.toml enforce it),
so, as for worklist sources, an app registers a panel: `fn(request, patient) -> Panel | None`, reading through its own
selectors (already scoped to the user). Each app imports its panel module from its AppConfig.ready()
(imaging/web/panels.py, trials/web/panels.py), so a panel exists exactly when its app is installed.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from registry.models import Patient


@dataclass(frozen=True)
class Panel:
    """A template fragment and its context, rendered in the patient page in `order`."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100


PanelSource = Callable[[HttpRequest, Patient], Panel | None]
_panels: dict[str, PanelSource] = {}


def register_patient_panel(name: str) -> Callable[[PanelSource], PanelSource]:
    def register(fn: PanelSource) -> PanelSource:
        _panels[name] = fn  # by name, so a module imported twice registers once
        return fn

    return register


def patient_panels(request: HttpRequest, patient: Patient) -> list[Panel]:
    panels = [panel for source in _panels.values() if (panel := source(request, patient)) is not None]
    return sorted(panels, key=lambda p: p.order)
