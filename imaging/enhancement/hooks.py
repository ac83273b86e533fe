"""What other sub-apps do with an enhanced series once it is analysed: hooks they register from AppConfig.ready().

imaging.enhancement does not import the sub-apps that use its output (the import contracts in pyproject.toml): the
low-dose evaluation registers `fn(source, derived, actor)` here, and the "enhance" step of the derived series calls it
once the derived series' own SUV step is done, so whatever it queues (an evaluation reads both series in SUV) never
meets a series that is not analysed yet, even with a real worker running the two pipelines in parallel.
`actor` is the user who caused the run (the model's registrant, who uploaded the derived series).
"""
from collections.abc import Callable
from typing import Any

from imaging.models import Series
from registry.models import User

DerivedSeriesHook = Callable[[Series, Series, User], dict[str, Any]]
_hooks: dict[str, DerivedSeriesHook] = {}


def on_derived_series(name: str) -> Callable[[DerivedSeriesHook], DerivedSeriesHook]:
    """Register `fn(source, derived, actor) -> result`; its result is kept under `name` in the step's result."""
    def register(fn: DerivedSeriesHook) -> DerivedSeriesHook:
        _hooks[name] = fn  # by name, so a module imported twice registers once
        return fn

    return register


def derived_series_analysed(source: Series, derived: Series, actor: User) -> dict[str, Any]:
    """Call every hook; their results by name."""
    return {name: fn(source, derived, actor) for name, fn in sorted(_hooks.items())}
