import resource
import time
from typing import Any

from django.core.management.base import CommandError, CommandParser

from registry.access import role_summary
from registry.demo import cohort
from registry.demo.hooks import cpu_seconds, run_demo_seeders
from registry.demo.people import DEMO_PASSWORD, demo_password_checks_remembered, seed_hospitals, seed_logins
from registry.management.base import AuditedCommand
from registry.models import Hospital, Patient, User


class Command(AuditedCommand):
    help = ("Load the demo network (25 hospitals in 15 provinces), one login per role, the registry consent "
            "documents and a deterministic cohort of fictional patients. Idempotent.")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--patients", type=int, default=cohort.DEFAULT_PATIENTS,
                            help=f"Size of the demo cohort (default {cohort.DEFAULT_PATIENTS}; 0 for none).")
        parser.add_argument("--scale", type=float, default=1.0,
                            help="Size of the other apps' demo data relative to the default (imaging: 200 patients).")
        parser.add_argument("--seed", type=int, default=cohort.DEFAULT_SEED,
                            help=f"Random seed: the same seed gives the same cohort (default {cohort.DEFAULT_SEED}).")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        actor = self.actor(options)
        cpu0 = cpu_seconds()
        n, seed = options["patients"], options["seed"]
        if n < 0:
            raise CommandError("--patients must be 0 or more")
        parts: list[tuple[str, float, float]] = []  # (part, seconds, CPU seconds), printed at the end
        hospitals = seed_hospitals(actor=actor)
        logins = seed_logins(actor=actor)
        self.stdout.write(f"{len(hospitals)} hospitals in {len({h.province for h in hospitals})} provinces")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for login in logins:
            where = login.hospital_code or "all hospitals"
            self.stdout.write(f"  {login.role:<14} {login.username:<12} ({where})")
        documents, created = cohort.seed_consent_documents(actor=actor)
        versions = ", ".join(f"v{d.version} from {d.effective_from.isoformat()}" for d in documents)
        self.stdout.write(f"Registry consent documents: {versions} ({created} created)")
        parts.append(("network and logins", time.perf_counter() - started, cpu_seconds() - cpu0))
        if n == 0:
            self._print_logins()
            return
        previous = cohort.existing_seed()
        if previous is not None:
            seed_used = (previous.after or {}).get("seed", "?")
            self.stdout.write(f"Demo cohort already present ({Patient.objects.count()} patients in the registry, "
                              f"seed {seed_used}): no patients added.")
        else:
            t0, cpu = time.perf_counter(), cpu_seconds()
            self._seed_cohort(actor=actor, n=n, seed=seed, hospitals=hospitals, documents=documents)
            parts.append(("registry cohort", time.perf_counter() - t0, cpu_seconds() - cpu))
        if options["scale"] > 0:
            with demo_password_checks_remembered():
                parts += run_demo_seeders(actor=actor, scale=options["scale"], write=self.stdout.write)
        total = time.perf_counter() - started
        self.stdout.write(f"Done in {total:.1f} s: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds, _ in parts) + ".")
        # CPU per part (helper processes included once they have ended): on a busy machine the wall seconds above
        # mostly measure the wait for a core; the CPU seconds are what a part costs.
        self.stdout.write("CPU per part: " + ", ".join(f"{name} {cpu:.1f} s" for name, _, cpu in parts) + ".")
        own, helpers = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        cpu_own, cpu_helpers = own.ru_utime + own.ru_stime, helpers.ru_utime + helpers.ru_stime
        self.stdout.write(f"CPU time: {cpu_own + cpu_helpers:.1f} s ({cpu_own:.1f} s in this process, {cpu_helpers:.1f} s "
                          "in its helper processes); on two quiet cores the wall time cannot go below half the total.")
        self._print_logins()

    def _print_logins(self) -> None:
        """Every demo login with what it holds, printed last so the seeders' output does not bury it (the trials
        and reading seeders add a sponsor and a second reader)."""
        codes = dict(Hospital.objects.values_list("pk", "code"))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for user in User.objects.filter(is_active=True).order_by("username"):
            held = role_summary(user, codes)
            if held:
                self.stdout.write(f"  {user.username:<12} {'; '.join(held)}")

    def _seed_cohort(self, **kwargs: Any) -> None:
        n, seed = kwargs["n"], kwargs["seed"]
        self.stdout.write(f"Seeding a demo cohort of {n} patients (seed {seed}, censored at {cohort.DEMO_TODAY})...")
        t0 = time.perf_counter()
        generated = cohort.generate_cohort(n, seed, [h.code for h in kwargs["hospitals"]], cohort.DEMO_TODAY)
        generated_in = time.perf_counter() - t0
        result = cohort.insert_cohort(generated, actor=kwargs["actor"], hospitals=kwargs["hospitals"], seed=seed,
                                      today=cohort.DEMO_TODAY, documents=kwargs["documents"])
        labels = {"registry.patient": "patients", "registry.patientidentity": "identities (encrypted)",
                  "registry.consentrecord": "consent records", "registry.consentwithdrawal": "consent withdrawals",
                  "registry.followupvisit": "follow-up visits"}
        for table, rows in result.counts.items():
            self.stdout.write(f"  {rows:>7} {labels.get(table, table)}")
        self.stdout.write(f"  re-consent (v2.0) signed by {result.reconsented}; daily sweep: "
                          f"{result.sweep.get('due', 0)} due, {result.sweep.get('overdue', 0)} overdue")
        self.stdout.write(f"Recorded {len(result.counts)} seed_batch audit events (one per table, object id "
                          f"seed:{seed}) instead of one per row.")
        summary = cohort.summarise(result.patients)
        self.stdout.write(
            f"  median age at diagnosis {summary['median_age_months']} months; male {summary['male_pct']}%; "
            f"MYCN amplified {summary['mycn_amplified_pct']}%")
        self.stdout.write(f"  INRGSS stage %: {summary['stage_pct']}")
        self.stdout.write(f"  INRG risk %: {summary['inrg_risk_pct']}")
        self.stdout.write(f"  largest sites %: {dict(summary['hospital_top_pct'])}")
        self.stdout.write(f"  deaths {summary['deaths']}; 5-year OS % by INRG risk (Kaplan-Meier): {summary['os_5y_pct']}")
        self.stdout.write(f"Cohort generated in {generated_in:.1f} s and written in "
                          f"{result.seconds:.1f} s ({n} patients).")
