"""Worklist items from apps further along the dependency chain (trials, safety, imaging...) without registry importing them.

Each app puts a `worklist` module next to its models (imported once by Django's autodiscover, as for demo_seed) that
registers a source: `fn(user, on) -> list[WorkItem]`, already restricted to what the user may act on. A source must
run a bounded number of queries whatever the number of items (the worklist endpoint pins it), and its titles carry
no patient identifier (trial subject numbers for trial roles; registry study IDs only for the patient's hospital).
"""
from collections.abc import Callable
from datetime import date

from django.utils.module_loading import autodiscover_modules

from registry.models import User

Source = Callable[[User, date], list]
_sources: dict[str, Source] = {}
_discovered = False


def register_worklist_source(name: str) -> Callable[[Source], Source]:
    def register(fn: Source) -> Source:
        _sources[name] = fn
        return fn

    return register


def sources() -> dict[str, Source]:
    global _discovered
    if not _discovered:
        autodiscover_modules("worklist")
        _discovered = True
    return dict(_sources)
