"""Parts of the imaging study page that belong to imaging's sub-apps (the reading sub-app's score sheets).

imaging may not import imaging.reading (the import contracts in pyproject.toml): as for the patient page's panels
(registry/web/panels.py), a sub-app registers a part, `fn(request, study) -> Panel | None`, from its AppConfig.ready(),
reading through its own scoped selectors. The study page renders every part in `order`.
"""
from collections.abc import Callable

from django.http import HttpRequest

from imaging.models import ImagingStudy
from registry.web.panels import Panel

StudyPartSource = Callable[[HttpRequest, ImagingStudy], Panel | None]
_parts: dict[str, StudyPartSource] = {}


def register_study_part(name: str) -> Callable[[StudyPartSource], StudyPartSource]:
    def register(fn: StudyPartSource) -> StudyPartSource:
        _parts[name] = fn  # by name, so a module imported twice registers once
        return fn

    return register


def study_parts(request: HttpRequest, study: ImagingStudy) -> list[Panel]:
    parts = [part for source in _parts.values() if (part := source(request, study)) is not None]
    return sorted(parts, key=lambda p: p.order)
