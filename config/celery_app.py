"""The Celery application; configuration comes from Django settings (CELERY_* names).

Tasks are routed to a queue per work kind (ingest follow-up, analysis, reports, beat: config/queues.py), so each kind
gets workers of its own and the slow kinds never hold up the quick ones (docs/operations.md, "Workers and queues").
"""
import os
from typing import Any

from celery import Celery

from config.queues import kind_of, queue_name

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("nbnm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict[str, str]:  # noqa: ARG001
    """CELERY_TASK_ROUTES: the queue of the task's kind, named after the default queue in force now (a test or a
    benchmark that renames the default queue at run time moves every kind with it)."""
    return {"queue": queue_name(kind_of(name), app.conf.task_default_queue)}
