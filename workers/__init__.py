"""The Celery workers: `celery -A workers worker --beat`.

Workers import the web app, never the reverse. Every job and sweep of volunteer_api/jobs/handlers.py
becomes a task here under its name, so the web side and the workers run the same service functions.
"""
from celery import Celery, Task
from flask import Flask, has_app_context

from volunteer_api import create_app
from volunteer_api.jobs.handlers import JOBS, SWEEPS
from volunteer_api.jobs.outbox import run_job

# Importing it connects the task counters to Celery's signals.
from .metrics import serve_when_the_worker_starts


def make_celery(flask_app: Flask) -> Celery:
    """A Celery app whose tasks run inside the Flask app's context (pushed only when none exists)."""
    if not flask_app.config.get("REDIS_URL"):
        raise RuntimeError("The workers need REDIS_URL (the broker); without it tasks run in the web process.")

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            if has_app_context():
                return self.run(*args, **kwargs)
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery("volunteer_monitor", task_cls=FlaskTask)
    celery_app.conf.update(flask_app.config["CELERY"])

    for name in JOBS:
        celery_app.task(name=name)(run_outbox_job)

    schedule = {}
    for name, sweep in SWEEPS.items():
        celery_app.task(name=name)(_run_sweep(sweep.function))
        interval = sweep.interval(flask_app.config)
        schedule[name] = {"task": name, "schedule": interval, "options": {"expires": interval}}
    celery_app.conf.beat_schedule = schedule
    # RedBeat: however many beats run (one per worker host), the one holding its Redis lock schedules.
    celery_app.conf.beat_scheduler = "workers.schedulers:LeaderScheduler"
    flask_app.extensions["celery"] = celery_app
    return celery_app


def run_outbox_job(job_id: int) -> str:
    """Run one outbox job by id (idempotent: a job already done is skipped)."""
    return run_job(job_id)


def _run_sweep(sweep):
    def run():
        return sweep()

    run.__name__ = run.__qualname__ = sweep.__name__
    run.__doc__ = sweep.__doc__
    return run


flask_app = create_app()
celery = make_celery(flask_app)
serve_when_the_worker_starts(flask_app.config.get("METRICS_WORKER_BIND"))
