"""Seeding the demo network and one login per role (idempotent: a second run changes nothing)."""
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from django.contrib.auth import hashers
from django.contrib.auth.hashers import make_password
from django.db import transaction

from registry.access import HospitalRole
from registry.demo.hospitals import LEAD, PARTNERS
from registry.models import Hospital, HospitalMembership, User
from registry.services.hospitals import hospital_create, membership_grant

DEMO_PASSWORD = "nb-demo-2026!"  # demo only; real accounts get passwords through the validators


@cache
def demo_password_hash() -> str:
    """DEMO_PASSWORD hashed once per process: every demo login shares it (same password, one salt). A PBKDF2 hash at
    Django's work factor costs ~0.5 s of CPU, and the seeders create seven logins."""
    return make_password(DEMO_PASSWORD)


@contextmanager
def demo_password_checks_remembered() -> Iterator[None]:
    """While inside (the seed command's own process): a check of DEMO_PASSWORD against a hash it was checked against
    before gives that first check's verdict instead of running PBKDF2 again; any other password is checked as always.

    The demo safety data signs eight assessments as their investigators, and each signature checks the demo password
    twice (the seeder's own check, then signature_sign's): 16 PBKDF2 runs at Django's work factor, ~5 of that part's
    ~6 s. The signatures written are the same; only the repeated arithmetic is skipped."""
    check = hashers.verify_password
    verdicts: dict[str, tuple[bool, bool]] = {}  # by the hash checked against

    def remembered(password: str | None, encoded: str, preferred: str = "default") -> tuple[bool, bool]:
        if password != DEMO_PASSWORD or preferred != "default":
            return check(password, encoded, preferred=preferred)
        if encoded not in verdicts:
            verdicts[encoded] = check(password, encoded, preferred=preferred)
        return verdicts[encoded]

    hashers.verify_password = remembered  # check_password looks it up at each call
    try:
        yield
    finally:
        hashers.verify_password = check


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    hospital_code: str | None  # None: every hospital
    staff: bool = False


DEMO_LOGINS = [
    DemoLogin("coord_bjyy", HospitalRole.COORDINATOR, "BJYY"),
    DemoLogin("inv_bjyy", HospitalRole.INVESTIGATOR, "BJYY"),
    DemoLogin("coord_shet", HospitalRole.COORDINATOR, "SHET"),
    DemoLogin("monitor", HospitalRole.MONITOR, "BJYY"),
    DemoLogin("datamanager", HospitalRole.DATA_MANAGER, None, staff=True),
]


@transaction.atomic
def seed_hospitals(*, actor: User) -> list[Hospital]:
    existing = {h.code: h for h in Hospital.objects.all()}
    hospitals = []
    for i, (code, zh, en, province, city) in enumerate([LEAD, *PARTNERS]):
        hospital = existing.get(code) or hospital_create(
            actor=actor, code=code, name_zh=zh, name_en=en, province=province, city=city, is_lead=i == 0
        )
        hospitals.append(hospital)
    return hospitals


@transaction.atomic
def seed_logins(*, actor: User) -> list[DemoLogin]:
    by_code = {h.code: h for h in Hospital.objects.all()}
    for login in DEMO_LOGINS:
        user, created = User.objects.get_or_create(username=login.username, defaults={"is_staff": login.staff})
        if created:
            user.password = demo_password_hash()
            user.save(update_fields=["password"])
        hospital = by_code[login.hospital_code] if login.hospital_code else None
        if not HospitalMembership.objects.filter(user=user, hospital=hospital, role=login.role).exists():
            membership_grant(actor=actor, user=user, role=login.role, hospital=hospital, reason="demo seed")
    # The monitor follows two sites, as a monitor of a multicenter programme does.
    monitor = User.objects.get(username="monitor")
    if not HospitalMembership.objects.filter(user=monitor, hospital=by_code["SHET"]).exists():
        membership_grant(actor=actor, user=monitor, role=HospitalRole.MONITOR, hospital=by_code["SHET"], reason="demo seed")
    return DEMO_LOGINS
