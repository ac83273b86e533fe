"""Celery queues by work kind (no imports: the settings and config/celery_app.py both read this).

| kind | queue (default name) | what |
| --- | --- | --- |
| ingest | `nbnm` (the default queue) | what follows an upload (indexing, coalescing) and the short jobs: every task not named below |
| analysis | `nbnm.analysis` | the series pipeline (SUV, dose, previews): CPU-bound, scaled out (`docker compose up --scale analysis=N`) |
| reports | `nbnm.reports` | report runs and exports: long, memory-hungry, few at a time |
| beat | `nbnm.beat` | the periodic sweeps the beat scheduler sends: small, and never queued behind a backlog |

Every name is derived from the default queue's (`CELERY_TASK_DEFAULT_QUEUE`) at the moment a task is sent, so a
deployment, a benchmark or a test that renames the default queue moves every kind with it. A worker started without
`-Q` consumes all of them (`task_queues` in the settings); `-Q nbnm.analysis` makes an analysis-only worker.
"""
INGEST, ANALYSIS, REPORTS, BEAT = "ingest", "analysis", "reports", "beat"
KINDS = (INGEST, ANALYSIS, REPORTS, BEAT)
# Task name -> kind; a task not listed is ingest follow-up or a short job and goes to the default queue.
TASK_KINDS = {
    "imaging.run_pipeline": ANALYSIS,
    "lowdose.evaluate_pair": ANALYSIS,  # a pair's resampling and metrics: CPU-bound like the pipeline
    "reports.run_report": REPORTS,
    "registry.requeue_stale_work": BEAT,
    "registry.follow_up_daily": BEAT,
    "registry.audit_checkpoint": BEAT,
    "safety.sweep_reporting_clocks": BEAT,
    "imaging.sweep_receipts": BEAT,
}


def queue_name(kind: str, base: str) -> str:
    """The queue of `kind` when the default queue is `base`."""
    return base if kind == INGEST else f"{base}.{kind}"


def queue_names(base: str) -> list[str]:
    """Every queue, the default first: what a worker doing every kind of work consumes (`-Q` joined with commas)."""
    return [queue_name(kind, base) for kind in KINDS]


def kind_of(task_name: str) -> str:
    return TASK_KINDS.get(task_name, INGEST)
