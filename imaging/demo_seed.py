"""Demo imaging: synthetic PET/CT (FDG, DOTATATE, NaF; some low-dose) and 123I-MIBG SPECT/CT for registry
patients, pushed through the real ingest and pipeline (eager Celery in the demo), so every study gets its
dose result, SUV results and previews. One child in three has a second exam after induction (same tracer),
so the dose history shows a cumulative total; a quarter of the PET/CT studies carry a CT dose report (SR)."""
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.test.utils import override_settings
from django.utils import timezone

from imaging import demo_seed_workers as workers
from imaging.demo_seed_workers import ExamPlan, draw_plan, weight_for_age  # noqa: F401 (weight_for_age: used by other seeders)
from imaging.models import ImagingStudy, Series
from imaging.services.ingest import IncomingFile, ingest
from imaging.tasks import run_pipeline
from registry.consent_rules import annotate_consent
from registry.demo.hooks import register_demo_seeder
from registry.models import Patient, User
from registry.services.work import work_execute

PATIENTS_AT_SCALE_1 = 150  # plus a follow-up exam for one in three: ~200 studies
SEED = 20261128
FOLLOW_UP_EVERY = 3
# The analyses are most of the imaging part's CPU (the WADO-RS metadata cache written at the end of each run is half of
# it): one process could not keep up with the ingest, so two share them, a study at a time.
ANALYSIS_PROCESSES = 2
CT_BODY_PART = workers.CT_BODY_PART


def _file_database() -> bool:
    name = str(connection.settings_dict.get("NAME") or "")
    return connection.vendor != "sqlite" or not (name in ("", ":memory:") or "mode=memory" in name)


@dataclass
class _Analyses:
    hand_over: Callable[[], None]  # gives the helpers the series queued since its last call
    waited: float = 0.0  # seconds the seeder waited for them after its last upload


@contextmanager
def _analysis_in_processes() -> Iterator[_Analyses]:
    """While inside: each series' analysis is queued (not run inline by eager Celery) and processes of their own run
    them, a study at a time, while the seeder goes on. On leaving, every queued analysis has run (any the processes could
    not claim runs here).

    The analyses must be over when the seeder returns: the low-dose demo seeder (order 40) registers the demonstration
    enhancement model, which would enhance the low-dose FDG series of any analysis still to run."""
    app = run_pipeline.app
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    # In-process broker (kombu's memory transport, the embedded default): the messages are never consumed; the
    # series rows pending analysis are the work list, and the engine's claim keeps each run single.
    app.conf.task_always_eager, app.conf.task_default_queue = False, f"seed-demo-{id(app)}"
    submitted: set[int] = set()
    futures: list[Future[None]] = []
    pool = ProcessPoolExecutor(max_workers=ANALYSIS_PROCESSES, mp_context=get_context("spawn"), initializer=workers.init_django)

    def hand_over() -> None:
        studies: dict[int, list[int]] = {}
        for study, pk in (Series.objects.filter(pipeline_state=Series.PipelineState.PENDING).exclude(pk__in=submitted)
                          .order_by("pk").values_list("study_id", "pk")):
            submitted.add(pk)
            studies.setdefault(study, []).append(pk)
        futures.extend(pool.submit(workers.analyse, pks) for pks in studies.values())

    analyses = _Analyses(hand_over)
    try:
        # Due at once: nothing more arrives for a seeded series. The ingest keeps its own pool (INGEST_WORKERS): with the
        # de-identification in this process instead, this process paced the seed and the seed took longer.
        with override_settings(IMAGING_PIPELINE_SETTLE_SECONDS=0):
            yield analyses
            hand_over()
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous
        last_upload = time.perf_counter()
        try:
            for future in futures:
                future.result()
        finally:
            pool.shutdown()
        analyses.waited = time.perf_counter() - last_upload
    for pk in Series.objects.filter(pk__in=submitted, pipeline_state=Series.PipelineState.PENDING).values_list("pk", flat=True):
        work_execute(model=Series, pk=pk)


@contextmanager
def _inline() -> Iterator[_Analyses]:
    yield _Analyses(lambda: None)


def _written(plans: list[ExamPlan], stack: ExitStack, ahead: bool) -> Iterator[list[str]]:
    """Each exam's files, in order: written by a helper process running ahead of the ingest, or here."""
    if not ahead:
        return (workers.write_exam(plan) for plan in plans)
    pool = stack.enter_context(ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")))
    return pool.map(workers.write_exam, plans)


@register_demo_seeder("imaging", order=20)
def seed_imaging(actor: User, scale: float, write: Callable[[str], None]) -> None:
    if ImagingStudy.objects.exists():
        write("Demo imaging already present: no studies added.")
        return
    uploader = User.objects.filter(memberships__hospital__isnull=True, memberships__role="data_manager").first()
    if uploader is None:
        write("No all-hospitals data manager to upload as: demo imaging skipped.")
        return
    wanted = max(1, round(PATIENTS_AT_SCALE_1 * scale))
    candidates = (annotate_consent(Patient.objects.all(), on=timezone.localdate())
                  .filter(Q(has_registry_consent=True), death_date__isnull=True, contact_withdrawn_on__isnull=True)
                  .order_by("study_id"))
    rng = random.Random(SEED)
    chosen = rng.sample(list(candidates), min(wanted, candidates.count()))
    started, instances = time.perf_counter(), 0
    # Several processes when the ingest may use them (INGEST_WORKERS > 1, not the tests' in-memory database): one writes
    # the synthetic files ahead, and, without a broker, one runs the analyses the ingest queues.
    ahead = settings.INGEST_WORKERS > 1 and _file_database()
    analysis_apart = ahead and bool(run_pipeline.app.conf.task_always_eager)
    with tempfile.TemporaryDirectory(prefix="nbnm-demo-imaging-") as tmp, ExitStack() as stack:
        plans: list[tuple[Patient, ExamPlan]] = []
        for n, patient in enumerate(chosen):
            kind = rng.choices(["MIBG", "F18_FDG", "GA68_DOTATATE", "F18_NAF"], weights=[45, 30, 15, 10])[0]
            first_date = patient.diagnosis_date + timedelta(days=rng.randint(3, 30))
            follow_up = first_date + timedelta(days=rng.randint(120, 180))  # after induction
            dates = [first_date] + ([follow_up] if n % FOLLOW_UP_EVERY == 0 and follow_up <= timezone.localdate() else [])
            for visit, study_date in enumerate(dates):
                plans.append((patient, draw_plan(rng, folder=f"{tmp}/{n:04d}-{visit}", study_id=patient.study_id, sex=patient.sex,
                                                 birth_date=patient.birth_date, kind=kind, study_date=study_date,
                                                 seed=SEED + n + 10_000 * visit)))
        files = _written([plan for _, plan in plans], stack, ahead)
        with (_analysis_in_processes() if analysis_apart else _inline()) as analyses:
            for (patient, _plan), paths in zip(plans, files, strict=True):
                upload = ingest(actor=uploader, patient=patient, source="seed",
                                files=[IncomingFile(Path(p).name, Path(p)) for p in paths])
                instances += upload.accepted
                analyses.hand_over()
    how = (f" (files written ahead and analyses run by helper processes); {analyses.waited:.1f} s of it waiting for the "
           "last analyses after the last upload") if analysis_apart else " (files written ahead by a helper process)" if ahead else ""
    write(f"Demo imaging: {len(plans)} studies of {len(chosen)} children ({instances} instances) ingested, de-identified, "
          f"indexed and analysed (SUV, dose, previews) in {time.perf_counter() - started:.1f} s{how}")
