"""The series pipeline: ordered steps, run for each series by the background-work engine (registry.services.work).

`index` is built in; the imaging-analysis work registers its quantification, dose and preview steps
with @pipeline_step. The engine claims the series (its `pipeline_*` columns), runs `pipeline_run`, and
owns the pipeline's state: retries after transient errors, recovery of a series whose worker died, the
stale sweep and audited user retries. Each step records its state, result and error on the series; a
failed step stops the steps after it (they are not run on bad input) and fails the pipeline, which a
user can retry. Running the pipeline again changes nothing: a step that is done is not run twice.
"""
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Min, Q, Value
from django.db.models.functions import NullIf
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _lazy

from imaging.models import ImagingStudy, Series
from registry.errors import ApplicationError
from registry.services.work import TRANSIENT_ERRORS, LeaseLost, Work, lease_until

logger = logging.getLogger(__name__)

StepFunction = Callable[[Series], dict[str, Any]]
_steps: dict[str, tuple[int, StepFunction]] = {}
_labels: dict[str, Any] = {}
# The step being run in this thread/task, so that a long step can report its progress without passing names around.
_running: ContextVar[tuple[Series, str] | None] = ContextVar("imaging_pipeline_running_step", default=None)
_last_report: dict[tuple[int, str], float] = {}
# The claim of the run in this thread/task (its start time), so a step's state is written only while the run is still
# the series' own: a series that gained instances meanwhile is pending again, and a step done on the old set of
# instances must not be recorded as done for the new one.
_claimed_at: ContextVar[datetime | None] = ContextVar("imaging_pipeline_claimed_at", default=None)
PROGRESS_INTERVAL_S = 1.0


def pipeline_step(name: str, *, order: int, label: Any = None) -> Callable[[StepFunction], StepFunction]:
    """Register a step. `label` (a gettext_lazy string) is what the pages show for `name` (the key stored per series)."""
    def register(fn: StepFunction) -> StepFunction:
        _steps[name] = (order, fn)
        if label is not None:
            _labels[name] = label
        return fn

    return register


def step_label(name: str) -> str:
    """The step's name in the reader's language (its key when it registered no label)."""
    return str(_labels.get(name, name))


def not_applicable(message: str, **values: Any) -> dict[str, Any]:
    """A step's result when it does not apply: `message` is marked with gettext_noop and stored with its values, so
    the page shows it in the reader's language (the step runs in a worker, with no reader); the English text is kept
    for the API and the results stored before."""
    return {"not_applicable": message % values, "not_applicable_message": [message, values]}


def step_note(result: dict[str, Any] | None) -> str:
    """The 'not applicable' note of a step's result in the active language (the English stored when no message id)."""
    if not result or not result.get("not_applicable"):
        return ""
    message = result.get("not_applicable_message")
    if isinstance(message, list) and len(message) == 2 and isinstance(message[0], str) and isinstance(message[1], dict):
        try:
            return gettext(message[0]) % message[1]
        except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder: the English, not a 500
            pass
    return str(result["not_applicable"])


def step_names() -> list[str]:
    return [name for name, _ in sorted(_steps.items(), key=lambda kv: kv[1][0])]


def index_values(series: Series) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(number of instances, geometry, step result) of a series, from its rows in one aggregate query."""
    published = Q(instances__quarantine_reason="")
    stats = Series.objects.filter(pk=series.pk).aggregate(
        all=Count("instances__id"), n=Count("instances__id", filter=published),
        z_min=Min("instances__slice_position", filter=published), z_max=Max("instances__slice_position", filter=published),
        first=Min(NullIf("instances__acquisition", Value("")), filter=published),
        last=Max(NullIf("instances__acquisition", Value("")), filter=published))
    geometry = {**series.geometry, "instances": stats["n"],
                "z_range": [stats["z_min"], stats["z_max"]] if stats["z_min"] is not None else None,
                "acquisition_first": stats["first"], "acquisition_last": stats["last"]}
    return stats["all"], geometry, {"instances": stats["n"]}


def steps_with_index(result: dict[str, Any], now: datetime) -> tuple[dict[str, Any], int]:
    """The pipeline_steps and progress of a series whose index step was just done (by the ingest) and nothing else."""
    steps = {"index": {"state": "done", "error": "", "result": result, "finished_at": now.isoformat(), "progress": 100}}
    return steps, 100 // max(len(step_names()), 1)


@pipeline_step("index", order=10, label=_lazy("Index the images"))
def index_series(series: Series) -> dict[str, Any]:
    """Instance count, slice range and acquisition times, aggregated from the rows written at ingest."""
    number, geometry, result = index_values(series)
    Series.objects.filter(pk=series.pk).update(number_of_instances=number, geometry=geometry)
    series.number_of_instances, series.geometry = number, geometry  # the later steps of the run see them
    return result


def step_states(series: Series) -> list[dict[str, Any]]:
    """Every step of the pipeline in order, with its state ("pending" when it has not started) and progress."""
    out = []
    for name in step_names():
        state = series.pipeline_steps.get(name, {})
        out.append({"name": name, "state": state.get("state", "pending"), "progress": state.get("progress", 0),
                    "error": state.get("error", ""), "finished_at": state.get("finished_at"), "result": state.get("result")})
    return out


def report_progress(done: int, total: int) -> None:
    """Called by a long step (e.g. while reading the images): records its progress at most once a second, so a
    small series costs no extra write and a large one shows movement."""
    running = _running.get()
    if running is None or total <= 0:
        return
    series, step = running
    key = (series.pk, step)
    now = time.monotonic()
    if now - _last_report.get(key, now) < PROGRESS_INTERVAL_S:
        _last_report.setdefault(key, now)
        return
    _last_report[key] = now
    _set_step(series, step, state="running", error="", progress=min(99, done * 100 // total))


def _set_step(series: Series, step: str, **state: Any) -> None:
    """Record one step's state and the pipeline's progress, on the row and on `series`; while the pipeline runs, this
    is also its heartbeat.

    One UPDATE, fenced by the run's claim: while a run holds its claim only the run writes the step state (an ingest
    or a user's retry changes the pipeline's state, so the fence then matches no row: LeaseLost), so the state it
    read when it started, plus its own writes, is the row's; no locked re-read of the row per step."""
    steps = dict(series.pipeline_steps)
    steps[step] = {**steps.get(step, {}), **state}
    if state.get("state") == "done":
        steps[step]["progress"] = 100
    names = step_names()
    done = sum(1 for n in names if steps.get(n, {}).get("state") == "done")
    partial = sum(steps.get(n, {}).get("progress", 0) for n in names if steps.get(n, {}).get("state") == "running")
    columns: dict[str, Any] = {"pipeline_steps": steps, "pipeline_progress": (done * 100 + partial) // max(len(names), 1),
                               "updated_at": timezone.now()}
    rows = Series.objects.filter(pk=series.pk)
    claimed_at = _claimed_at.get()
    if claimed_at is not None:
        rows = rows.filter(pipeline_state=Series.PipelineState.RUNNING, pipeline_started_at=claimed_at)
    if claimed_at is not None or series.pipeline_state == Series.PipelineState.RUNNING:
        columns["pipeline_lease_expires_at"] = lease_until()
    if not rows.update(**columns) and claimed_at is not None:
        raise LeaseLost
    for name, value in columns.items():
        setattr(series, name, value)


def series_step_run(*, series_id: int, step: str) -> str:
    """Run one step unless it is done, the series is held, or an earlier step failed. Returns what happened."""
    series = Series.objects.select_related("study").get(pk=series_id)
    return _step_run(series, step, series.study.status)


def _step_run(series: Series, step: str, study_status: str) -> str:
    """series_step_run on a series already read; `series` follows the step state written (see _set_step)."""
    if study_status == ImagingStudy.Status.ON_HOLD:
        return "held"
    names = step_names()
    earlier = names[: names.index(step)]
    if any(series.pipeline_steps.get(n, {}).get("state") != "done" for n in earlier):
        return "skipped"
    if series.pipeline_steps.get(step, {}).get("state") == "done":
        return "already done"
    # "running" is written by the step's first progress report (after a second), not here: a quick step goes
    # straight from pending to done, saving a write (a commit per step adds up over a demo of 200 studies).
    token = _running.set((series, step))
    try:
        result = _steps[step][1](series)
    except (LeaseLost, *TRANSIENT_ERRORS):
        raise  # not the step's fault: the engine runs the pipeline again after a backoff
    except Exception as exc:  # recorded on the series for people to read and retry; never an identifier
        logger.exception("pipeline step %s failed for series %s", step, series.pk)
        _set_step(series, step, state="failed", error=f"{type(exc).__name__}: {exc}"[:1000],
                  finished_at=timezone.now().isoformat())
        return "failed"
    finally:
        _running.reset(token)
        _last_report.pop((series.pk, step), None)
    _set_step(series, step, state="done", error="", result=result, finished_at=timezone.now().isoformat())
    return "done"


def pipeline_run(series: Series, work: Work) -> None:
    """The engine's handler: every step in order. A failed step fails the pipeline with the step's error.

    The steps share one read of the series' files (imaging.volume.run_cache): each stored file is opened once per run.
    """
    from imaging.volume import run_cache

    token = _claimed_at.set(work.claimed_at)
    try:
        with run_cache():
            _run_steps(series, work)
            _warm_metadata(series)
    finally:
        _claimed_at.reset(token)


def _run_steps(series: Series, work: Work) -> None:
    """The steps on the row the engine read once it claimed it (its step state is the run's own from then on). Only
    the study's status is read again before each step: a study put on hold meanwhile stops the steps after it."""
    status = ImagingStudy.objects.filter(pk=series.study_id).values_list("status", flat=True)
    for step in step_names():
        outcome = _step_run(series, step, status.get())
        if outcome == "held":  # put on hold since it was queued: the release queues it again
            work.finish(Series.PipelineState.HELD)
            return
        if outcome == "failed":
            raise ApplicationError(series.pipeline_steps[step].get("error", ""), code="step_failed")
    work.succeed()


def _warm_metadata(series: Series) -> None:
    """Write the series' WADO-RS metadata cache from the bytes this run has read already (the viewer's first request)."""
    from imaging.dicomweb.metadata_cache import warm

    warm(series)


def forget_failed_steps(series: Series) -> dict[str, Any]:
    """On a user's retry: keep the steps that are done, so the pipeline resumes at the one that failed."""
    return {"pipeline_steps": {k: v for k, v in series.pipeline_steps.items() if v.get("state") == "done"}}
