"""The demo seed: a deterministic, believable cohort, written fast, consistent with the registry's own rules."""
import re
import statistics
from collections import Counter
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q
from django.test.utils import CaptureQueriesContext

from registry import identity_crypto
from registry.access import HospitalRole
from registry.audit import verify_chain
from registry.consent_rules import consent_state
from registry.dates import age_years
from registry.demo import cohort
from registry.demo.hospitals import LEAD, PARTNERS
from registry.models import (
    AuditEvent,
    ConsentRecord,
    ConsentWithdrawal,
    FollowUpPlan,
    FollowUpVisit,
    Hospital,
    HospitalMembership,
    Patient,
    PatientIdentity,
    StudyIdCounter,
    User,
)
from registry.selectors import outcomes, worklist
from registry.services.followup import build_schedule, schedule_offsets
from registry.services.patients import IDENTITY_FIELDS, patient_register

CODES = [LEAD[0], *(p[0] for p in PARTNERS)]
TODAY = cohort.DEMO_TODAY
SMALL = 600
SEED_TABLES = ("registry.patient", "registry.patientidentity", "registry.consentrecord", "registry.consentwithdrawal",
               "registry.followupvisit")


@pytest.fixture(scope="module")
def full() -> list[cohort.DemoPatient]:
    return cohort.generate_cohort(cohort.DEFAULT_PATIENTS, cohort.DEFAULT_SEED, CODES, TODAY)


def seed(n: int = SMALL, seed: int = 11) -> str:
    out = StringIO()
    call_command("seed_demo", patients=n, seed=seed, scale=0, stdout=out)  # registry only
    return out.getvalue()


def km(rows: list[tuple[int, bool]], at: float) -> float:
    """A tiny Kaplan-Meier, independent of the one in cohort.py."""
    s = 1.0
    for t in sorted({t for t, e in rows if e and t <= at}):
        at_risk = sum(1 for u, _ in rows if u >= t)
        deaths = sum(1 for u, e in rows if u == t and e)
        s *= 1 - deaths / at_risk
    return s


# --- The pure generator ---------------------------------------------------------------------------


def test_generation_is_deterministic() -> None:
    a = cohort.generate_cohort(SMALL, 5, CODES, TODAY)
    b = cohort.generate_cohort(SMALL, 5, CODES, TODAY)
    assert a == b
    assert [(p.study_id, p.diagnosis_date, p.inrgss_stage, p.death_date) for p in a] == \
           [(p.study_id, p.diagnosis_date, p.inrgss_stage, p.death_date) for p in b]
    other = cohort.generate_cohort(SMALL, 6, CODES, TODAY)
    assert [p.diagnosis_date for p in other] != [p.diagnosis_date for p in a]

    plan = FollowUpPlan(name="test", rules=[{"until_month": 24, "every_months": 3}, {"until_month": 60, "every_months": 6},
                                           {"until_month": None, "every_months": 12}], window_days=14, horizon_years=10)

    def visits(p: cohort.DemoPatient) -> list[tuple]:
        schedule = build_schedule(Patient(diagnosis_date=p.diagnosis_date), plan)
        fu = cohort.plan_followup(p, schedule, today=TODAY, recorded_by=None)
        return [(v.number, v.status, v.visit_date, v.vital_status, v.disease_status, v.event_date, v.death_date)
                for v in fu.visits]

    assert [visits(p) for p in a[:80]] == [visits(p) for p in b[:80]]


def test_study_ids_follow_the_service_format_and_sequence() -> None:
    patients = cohort.generate_cohort(SMALL, 5, CODES, TODAY)
    by_hospital: dict[str, list[cohort.DemoPatient]] = {}
    for p in patients:
        by_hospital.setdefault(p.hospital_code, []).append(p)
    for code, rows in by_hospital.items():
        assert [p.number for p in rows] == list(range(1, len(rows) + 1))
        assert rows[0].study_id == f"{code}-00001"
        assert [p.diagnosis_date for p in rows] == sorted(p.diagnosis_date for p in rows)
        records = [p.identity.record_number for p in rows]
        assert len(set(records)) == len(records)


def test_distributions_at_full_size(full: list[cohort.DemoPatient]) -> None:
    n = len(full)
    assert n == 4500
    share = lambda pred: sum(1 for p in full if pred(p)) / n  # noqa: E731
    assert 12 <= statistics.median(p.age_at_diagnosis_months for p in full) <= 24
    assert all(0 <= p.age_at_diagnosis_months <= 180 for p in full)
    assert 0.50 <= share(lambda p: p.sex == "M") <= 0.60
    assert 0.40 <= share(lambda p: p.inrgss_stage == "M") <= 0.60
    assert 0.15 <= share(lambda p: p.inrgss_stage == "L1") <= 0.25
    assert 0.17 <= share(lambda p: p.inrgss_stage == "L2") <= 0.27
    assert 0.05 <= share(lambda p: p.inrgss_stage == "MS") <= 0.11
    assert 0.15 <= share(lambda p: p.mycn == "amplified") <= 0.25
    m = [p for p in full if p.inrgss_stage == "M"]
    assert sum(p.mycn == "amplified" for p in m) / len(m) > share(lambda p: p.mycn == "amplified")
    hospitals = Counter(p.hospital_code for p in full)
    assert hospitals.most_common(1)[0][0] == "BJYY" and 0.25 <= hospitals["BJYY"] / n <= 0.30
    assert len(hospitals) == 25
    assert min(p.diagnosis_date for p in full) >= cohort.DIAGNOSIS_FROM
    assert max(p.diagnosis_date for p in full) <= cohort.DIAGNOSIS_TO
    assert {p.diagnosis_date.year for p in full} == set(range(2014, 2027))
    assert 0.005 <= share(lambda p: p.withdrawal is not None) <= 0.03
    assert {p.withdrawal.scope for p in full if p.withdrawal} == set(ConsentWithdrawal.Scope.values)


def test_survival_is_consistent_with_risk(full: list[cohort.DemoPatient]) -> None:
    def os5(risks: tuple[str, ...]) -> float:
        rows = [((p.end_date - p.diagnosis_date).days, p.death_date is not None) for p in full if p.inrg_risk in risks]
        return km(rows, 5 * 365.25)

    assert 0.30 <= os5(("high",)) < 0.50
    assert 0.80 <= os5(("intermediate",)) <= 0.95
    assert os5(("low", "very_low")) > 0.95
    for p in full:
        assert p.end_date <= TODAY and p.end_date >= p.diagnosis_date
        if p.death_date:
            assert p.end_date == p.death_date and p.death_date > p.consent_date
        if p.relapse_date:
            assert p.diagnosis_date < p.relapse_date <= p.end_date
        if p.withdrawal:
            assert p.consent_date < p.withdrawal.on <= TODAY and p.death_date is None


def test_staging_and_risk_are_consistent_for_every_patient(full: list[cohort.DemoPatient]) -> None:
    inss = {"L1": {"1"}, "L2": {"2A", "2B", "3"}, "M": {"4"}, "MS": {"4S", "4"}}
    for p in full:
        age, amp = p.age_at_diagnosis_months, p.mycn == "amplified"
        if p.inrgss_stage == "MS":
            assert age < 18
        if p.diagnosis_date < cohort.INSS_UNTIL:
            assert p.inss_stage in inss[p.inrgss_stage]
            assert p.inss_stage != "4S" or age < 12
        else:
            assert p.inss_stage == ""
        if p.inrgss_stage == "M" and age >= 18:
            assert (p.inrg_risk, p.cog_risk) == ("high", "high")
        if amp and p.inrgss_stage != "L1":
            assert (p.inrg_risk, p.cog_risk) == ("high", "high")
        if not amp and p.inrgss_stage == "L1":
            assert (p.inrg_risk, p.cog_risk) == ("very_low", "low")
        if not amp and p.inrgss_stage == "L2":
            assert p.inrg_risk in ("very_low", "low", "intermediate")
            assert p.cog_risk in ("low", "intermediate") or (age >= 18 and p.histology == "unfavourable")
        if not amp and p.inrgss_stage == "MS":
            assert p.inrg_risk == ("high" if p.aberration_11q == "yes" else "very_low")
        if not amp and p.inrgss_stage == "M" and age < 18:
            assert p.inrg_risk in ("low", "intermediate")
        if p.inrg_risk == "high":
            assert amp or p.inrgss_stage == "M" or p.aberration_11q == "yes"
        if p.histology in ("ganglioneuroma", "gnb_intermixed"):
            assert not amp


# --- Writing it -----------------------------------------------------------------------------------


def test_seed_writes_a_consistent_cohort(db) -> None:  # type: ignore[no-untyped-def]
    out = seed()
    assert Patient.objects.count() == SMALL and PatientIdentity.objects.count() == SMALL
    assert Hospital.objects.count() == 25
    assert f"{SMALL} patients" in out and "Recorded 5 seed_batch audit events" in out
    assert re.search(r"written in \d+\.\d s", out)
    plan_visits = len(schedule_offsets(FollowUpPlan.objects.get(is_default=True)))
    assert FollowUpVisit.objects.filter(target_date__isnull=False).count() == SMALL * plan_visits
    assert ConsentRecord.objects.values("patient").distinct().count() == SMALL

    # Study IDs: the service's format, in sequence per hospital, counters at the last number used.
    for h in Hospital.objects.annotate(n=Count("patients")):
        last = StudyIdCounter.objects.filter(hospital=h).values_list("last_number", flat=True).first() or 0
        assert last == h.n
        ids = sorted(Patient.objects.filter(hospital=h).values_list("study_id", flat=True))
        assert ids == [f"{h.code}-{i:05d}" for i in range(1, h.n + 1)]

    # Deaths and last contacts agree with the visits; nobody is recorded alive on or after their death.
    assert not FollowUpVisit.objects.filter(vital_status="alive", visit_date__gte=F("patient__death_date")).exists()
    assert not FollowUpVisit.objects.filter(patient__death_date__isnull=False, status__in=FollowUpVisit.OPEN_STATUSES).exists()
    dead = Patient.objects.filter(death_date__isnull=False)
    assert dead.exists()
    for p in dead.prefetch_related("visits"):
        [death_visit] = [v for v in p.visits.all() if v.vital_status == "dead"]
        assert death_visit.death_date == p.death_date and death_visit.visit_date >= p.death_date
    mismatch = Patient.objects.annotate(last=Max("visits__visit_date", filter=Q(visits__status="done"))).exclude(
        Q(last_contact_date=F("last")) | Q(last_contact_date__isnull=True, last__isnull=True))
    assert not mismatch.exists()
    assert not FollowUpVisit.objects.filter(status="done", visit_date__gt=TODAY).exists()
    assert not FollowUpVisit.objects.filter(status="done", visit_date__lt=F("patient__diagnosis_date")).exists()
    events = FollowUpVisit.objects.filter(event_date__isnull=False)
    assert events.exists() and not events.exclude(disease_status__in=["relapse", "PD"]).exists()
    assert not events.filter(event_date__gt=F("visit_date")).exists()
    statuses = Counter(FollowUpVisit.objects.values_list("status", flat=True))
    assert statuses["done"] > statuses["missed"] > 0 and statuses["cancelled"] and statuses["scheduled"]
    assert statuses["due"] + statuses["overdue"] > 0

    # The outcome selector reads the same facts.
    result = {o.patient_id: o for o in outcomes(Patient.objects.all())}
    assert sum(o.os_event for o in result.values()) == dead.count()
    assert all(o.os_days >= 0 and o.efs_days <= o.os_days for o in result.values())

    # Consent: valid records, withdrawals applied, re-consent due for some.
    v1 = ConsentRecord.objects.filter(document__version="1.0").select_related("patient")
    for record in v1:
        patient = record.patient
        # Consent within two weeks of diagnosis, and never before the registry's first consent version.
        assert patient.diagnosis_date <= record.signed_date <= patient.diagnosis_date + timedelta(days=14)
        assert record.signed_date >= record.document.effective_from
        assert record.guardian1_relationship
        expected = "given" if age_years(patient.birth_date, record.signed_date) >= 8 else "not_applicable"
        assert record.assent == expected
    withdrawn = ConsentWithdrawal.objects.select_related("consent__patient")
    for w in withdrawn:
        patient = w.consent.patient
        assert patient.contact_withdrawn_on == w.withdrawn_on
        assert (patient.data_use_withdrawn_on == w.withdrawn_on) == (w.scope == "withdraw_data_use")
        assert not patient.visits.filter(status__in=FollowUpVisit.OPEN_STATUSES, target_date__gte=w.withdrawn_on).exists()
        assert not patient.visits.filter(status="done", visit_date__gte=w.withdrawn_on).exists()
        assert not consent_state(patient, on=TODAY).valid
    assert Patient.objects.filter(contact_withdrawn_on__isnull=False).count() == withdrawn.count()
    assert ConsentRecord.objects.filter(document__version="2.0").exists()
    flagged = {i.kind for i in worklist(user=User.objects.get(username="coord_bjyy"), on=TODAY)}
    assert {"reconsent_due", "visit_due", "visit_overdue"} <= flagged


def test_rows_pass_model_validation_and_identities_decrypt(db) -> None:  # type: ignore[no-untyped-def]
    seed(n=120)
    for patient in Patient.objects.select_related("hospital", "identity")[:60]:
        patient.full_clean()
        identity = identity_crypto.decrypt(patient.identity.ciphertext)
        assert set(identity) == set(IDENTITY_FIELDS) and identity["name"] and identity["record_number"]
        assert patient.record_number_hash == identity_crypto.record_number_hash(patient.hospital.code,
                                                                                identity["record_number"])
    for visit in FollowUpVisit.objects.filter(status="done")[:300]:
        visit.full_clean()
    # Missed and open visits carry no recorder, as when the services write them (the field lacks blank=True).
    for visit in FollowUpVisit.objects.exclude(status="done")[:300]:
        visit.full_clean(exclude=["recorded_by"])
    for record in ConsentRecord.objects.all()[:100]:
        record.full_clean()


def test_seed_is_idempotent_and_audited_once_per_table(db) -> None:  # type: ignore[no-untyped-def]
    start = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    first = seed()
    batch = AuditEvent.objects.filter(action="seed_batch", seq__gt=start)
    assert sorted(batch.values_list("object_type", flat=True)) == sorted(SEED_TABLES)
    assert set(batch.values_list("object_id", flat=True)) == {"seed:11"}
    counts = {e.object_type: e.after["rows"] for e in batch}
    assert counts["registry.patient"] == SMALL and counts["registry.followupvisit"] == FollowUpVisit.objects.count()
    assert all(e.after["seed"] == 11 and e.after["note"] == cohort.SEED_NOTE for e in batch)
    # No per-row events for the bulk rows.
    assert not AuditEvent.objects.filter(seq__gt=start, object_type="registry.patient").exclude(action="seed_batch").exists()
    assert AuditEvent.objects.filter(seq__gt=start).count() < 80
    assert verify_chain().ok

    again = seed()
    assert Patient.objects.count() == SMALL
    assert "already present" in again and "no patients added" in again
    assert AuditEvent.objects.filter(action="seed_batch").count() == len(SEED_TABLES)
    assert verify_chain().ok

    # No identifier in the output or in the trail.
    generated = cohort.generate_cohort(SMALL, 11, CODES, TODAY)
    text = first + again + "".join(str(e.after) for e in AuditEvent.objects.filter(seq__gt=start))
    for p in generated:
        assert p.identity.name not in text and p.identity.record_number not in text
        assert p.identity.guardian1_phone not in text


def test_registration_after_the_seed_continues_the_sequence(db) -> None:  # type: ignore[no-untyped-def]
    seed(n=200)
    bjyy = Hospital.objects.get(code="BJYY")
    last = StudyIdCounter.objects.get(hospital=bjyy).last_number
    assert last == Patient.objects.filter(hospital=bjyy).count() > 0
    coordinator = User.objects.get(username="coord_bjyy")
    assert HospitalMembership.objects.filter(user=coordinator, hospital=bjyy, role=HospitalRole.COORDINATOR).exists()
    patient = patient_register(
        actor=coordinator, hospital=bjyy, identity={"name": "测试", "record_number": "NEW-0001"}, today=TODAY,
        sex="F", birth_date=date(2024, 1, 5), diagnosis_date=date(2026, 11, 1), primary_site="adrenal",
        inrgss_stage="L1", inrg_risk="very_low", mycn="not_amplified", aberration_11q="no", ploidy="hyperdiploid",
        histology="favourable",
    )
    assert patient.study_id == f"BJYY-{last + 1:05d}"


def test_seed_continues_after_numbers_already_issued(db) -> None:  # type: ignore[no-untyped-def]
    call_command("seed_demo", patients=0, stdout=StringIO())
    bjyy = Hospital.objects.get(code="BJYY")
    StudyIdCounter.objects.create(hospital=bjyy, last_number=7)
    seed(n=100)
    ids = sorted(Patient.objects.filter(hospital=bjyy).values_list("study_id", flat=True))
    assert ids[0] == "BJYY-00008"
    assert StudyIdCounter.objects.get(hospital=bjyy).last_number == 7 + len(ids)


def test_seed_writes_in_bulk(db) -> None:  # type: ignore[no-untyped-def]
    """The cohort is written in bulk: three times the patients cost far less than three times the statements (a
    per-patient query would triple them). A statement count, not a wall clock: timings on a shared machine are the
    benchmarks' business (the seed prints its seconds per part). Measured: 641 statements for 300, 872 for 900."""
    with transaction.atomic(), CaptureQueriesContext(connection) as small:
        seed(n=300, seed=3)
        transaction.set_rollback(True)  # the second seed starts from the same empty registry
    with CaptureQueriesContext(connection) as large:
        out = seed(n=900, seed=3)
    assert Patient.objects.count() == 900
    assert len(large.captured_queries) < 1.6 * len(small.captured_queries), (len(small.captured_queries), len(large.captured_queries))
    assert "written in" in out


def test_visit_rows_are_those_of_the_model_path(db) -> None:  # type: ignore[no-untyped-def]
    """The visits are written as plain tuples (one executemany): every column is what build_schedule's model objects,
    filled by plan_followup and written by bulk_create, gave."""
    seed(n=120, seed=7)
    plan = FollowUpPlan.objects.get(is_default=True)
    actor = User.objects.get(pk=AuditEvent.objects.filter(action=cohort.SEED_ACTION).values_list("actor", flat=True).first())
    generated = {p.study_id: p for p in cohort.generate_cohort(120, 7, CODES, TODAY)}
    fields = [f.attname for f in FollowUpVisit._meta.concrete_fields if f.attname not in ("id", "patient_id")]
    # The daily sweep that ends the seed moves scheduled visits to due or overdue: compared as scheduled.
    swept = {FollowUpVisit.Status.DUE: FollowUpVisit.Status.SCHEDULED, FollowUpVisit.Status.OVERDUE: FollowUpVisit.Status.SCHEDULED}
    status = 1 + fields.index("status")
    written = Counter(tuple(swept.get(v, v) if i == status else v for i, v in enumerate(row))
                      for row in FollowUpVisit.objects.values_list("patient__study_id", *fields))
    expected: Counter[tuple] = Counter()
    for patient in Patient.objects.all():
        schedule = build_schedule(patient, plan)
        fu = cohort.plan_followup(generated[patient.study_id], schedule, today=TODAY, recorded_by=actor)
        for v in fu.visits:
            v.patient = patient
            FollowUpVisit._meta.get_field("recorded_at").pre_save(v, add=True)
            expected[(patient.study_id, *(getattr(v, f) for f in fields))] += 1
    # The database gives back what the model path stored: compare through the same round trip (dates, aware times).
    assert sum(written.values()) == sum(expected.values()) > 120 * 10
    assert written == expected


def test_the_seeds_month_arithmetic_is_add_months() -> None:
    """The seed's own month arithmetic gives registry.dates.add_months for every diagnosis day and plan offset."""
    from registry.dates import add_months

    offsets = range(0, 121)
    day = date(2014, 1, 1)
    while day <= date(2026, 12, 31):
        assert all(cohort._add_months(day, m) == add_months(day, m) for m in offsets), day
        day += timedelta(days=1)
