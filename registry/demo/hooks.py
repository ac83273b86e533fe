"""Demo data from apps further along the dependency chain (imaging, trials, ...) without registry importing them.

seed_demo imports every installed app's `demo_seed` module (Django's autodiscover), where the app
registers a seeder; seeders run in order after the registry cohort, each idempotent.
"""
import resource
import time
from collections.abc import Callable

from django.utils.module_loading import autodiscover_modules

from registry.models import User

Seeder = Callable[[User, float, Callable[[str], None]], None]
_seeders: list[tuple[int, str, Seeder]] = []


def register_demo_seeder(name: str, *, order: int) -> Callable[[Seeder], Seeder]:
    def register(fn: Seeder) -> Seeder:
        if name not in {n for _, n, _ in _seeders}:
            _seeders.append((order, name, fn))
        return fn

    return register


def cpu_seconds() -> float:
    """CPU time of this process and of its helper processes that have ended (a seeder's pools end with it)."""
    own, helpers = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + helpers.ru_utime + helpers.ru_stime


def run_demo_seeders(*, actor: User, scale: float, write: Callable[[str], None]) -> list[tuple[str, float, float]]:
    """Run every seeder in order; (name, seconds, CPU seconds) of each, for the command's summary of where the time went."""
    autodiscover_modules("demo_seed")
    ran: list[tuple[str, float, float]] = []
    for _, name, fn in sorted(_seeders, key=lambda s: s[0]):
        started, cpu = time.perf_counter(), cpu_seconds()
        fn(actor, scale, write)
        ran.append((name, time.perf_counter() - started, cpu_seconds() - cpu))
    return ran
