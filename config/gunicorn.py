"""gunicorn's settings for the web process: `gunicorn --config config/gunicorn.py wsgi:app` (scripts/serve).

Loaded by gunicorn's master from this path (not imported by the app). Bind address and worker count stay
on the command line.
"""
import os

from prometheus_client import multiprocess


def child_exit(server, worker):
    """A worker process ended: drop its live gauges from PROMETHEUS_MULTIPROC_DIR's sum (a no-op without it).

    In prometheus_client's multiprocess mode each process writes its own files there; the live gauges of a
    dead worker would otherwise go on being added up by every scrape until the directory is wiped.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
