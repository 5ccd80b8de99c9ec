"""The workers' own figures: tasks run, by name and outcome, and how long they took (Prometheus).

Counted through Celery's signals in whichever process runs the task. With PROMETHEUS_MULTIPROC_DIR
set before the worker starts (Celery's prefork pool runs tasks in child processes), every process of
the host writes its counts there: the web's `/metrics` on the same host adds them up, and so does the
worker's own endpoint on METRICS_WORKER_BIND (an internal address, for hosts that run no web process).

An outbox job's outcome is what `run_job` returned (done, pending: it failed and will be retried, dead,
skipped); a sweep's is `ok`; a task that raised is `error`.
"""
import logging
import os
import time

from celery.signals import task_failure, task_postrun, task_prerun, task_success, worker_init
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

TASKS = Counter("volunteer_worker_tasks", "Worker tasks run, by task name and outcome", ["task", "outcome"])
TASK_SECONDS = Histogram("volunteer_worker_task_duration_seconds", "Worker task run time", ["task"],
                         buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
OUTBOX_OUTCOMES = frozenset({"done", "pending", "dead", "skipped"})
_started: dict[str, float] = {}


def outcome_of(result) -> str:
    return result if isinstance(result, str) and result in OUTBOX_OUTCOMES else "ok"


@task_prerun.connect
def _task_started(task_id=None, **_):
    _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id=None, task=None, **_):
    started = _started.pop(task_id, None)
    if started is not None and task is not None:
        TASK_SECONDS.labels(task=task.name).observe(time.perf_counter() - started)


@task_success.connect
def _task_succeeded(sender=None, result=None, **_):
    TASKS.labels(task=sender.name, outcome=outcome_of(result)).inc()


@task_failure.connect
def _task_failed(sender=None, **_):
    TASKS.labels(task=sender.name, outcome="error").inc()


def metrics_registry():
    """What the worker's endpoint serves: every process of the host (multiprocess mode), else this one."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def serve_on(bind: str | None) -> None:
    """Serve the counts on `host:port` (METRICS_WORKER_BIND); nothing when unset."""
    if not bind:
        return
    host, _, port = bind.rpartition(":")
    start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1", registry=metrics_registry())
    log.info("worker metrics served on %s", bind)


def serve_when_the_worker_starts(bind: str | None) -> None:
    """Start the endpoint in the worker's main process (worker_init), not in `celery beat` or the web."""

    def serve(**_):
        serve_on(bind)

    worker_init.connect(serve, weak=False)
