"""Demo data from apps further along the dependency chain (imaging, trials, ...) without registry importing them.

seed_demo imports every installed app's `demo_seed` module (Django's autodiscover), where the app
registers a seeder; seeders run in order after the registry cohort, each idempotent.
"""
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


def run_demo_seeders(*, actor: User, scale: float, write: Callable[[str], None]) -> list[tuple[str, float]]:
    """Run every seeder in order; (name, seconds) of each, for the command's summary of where the time went."""
    autodiscover_modules("demo_seed")
    ran: list[tuple[str, float]] = []
    for _, name, fn in sorted(_seeders, key=lambda s: s[0]):
        started = time.perf_counter()
        fn(actor, scale, write)
        ran.append((name, time.perf_counter() - started))
    return ran
