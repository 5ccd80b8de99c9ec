"""`/metrics`: what several hosts do, in the Prometheus text format.

Two kinds of figures:
- Counted where they happen: every request by endpoint, method and status with its latency histogram
  (prometheus-flask-exporter), and the workers' tasks by name and outcome (workers/, Celery signals).
  Under gunicorn or Celery's prefork pool each process counts alone; with PROMETHEUS_MULTIPROC_DIR set
  (before the process starts: prometheus_client reads it at import) every process of the host writes
  its counts there and a scrape adds them up (prometheus_client's multiprocess mode).
- Read from the database at scrape time, the same on every host: the outbox (pending, dead, the age of
  the oldest pending job), the alert latency of the newest flagged inspections, the audit chain's sealing
  lag and last verification (its age, and whether it found the chain intact under a valid signature), the
  age of the totals' `as_of`. Each is one indexed query (a count over a
  partial set, a min or a max through an index, at most ALERT_LATENCY_SAMPLE rows): a scrape stays cheap
  whatever the size of the tables.

Reachable only with METRICS_TOKEN as a bearer token; without METRICS_TOKEN the path answers 404 (it is not
served at all). Worker-only hosts serve their counts on METRICS_WORKER_BIND (an internal address).
"""
import hmac
import logging
import os
from datetime import datetime

from flask import Flask, Response, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_flask_exporter import PrometheusMetrics
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..alerts.models import Alert
from ..audit import verifications
from ..audit.models import AuditEvent
from ..auth.access import public
from ..database import db
from ..errors import problem
from ..inspections.models import Inspection
from ..jobs import OutboxJob
from ..savings.models import SavingsTotal
from ..timestamps import utcnow

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
# The newest flagged-inspection alerts the latency figures are taken over.
ALERT_LATENCY_SAMPLE = 500
ALERT_LATENCY_QUANTILES = (0.5, 0.9, 0.99, 1.0)
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def init_app(app: Flask) -> None:
    """Count every request (not the scrapes themselves) and serve /metrics."""
    # A registry per app: tests and benches build several apps in one process.
    registry = CollectorRegistry()
    exporter = PrometheusMetrics(app, path=None, registry=registry, group_by="endpoint", defaults_prefix="flask",
                                 excluded_paths=[f"^{METRICS_PATH}$"])
    app.extensions["prometheus_registry"] = registry
    app.extensions["prometheus_metrics"] = exporter
    app.add_url_rule(METRICS_PATH, endpoint="metrics", view_func=serve_metrics)


@public  # to JWTs: the scraper's credential is METRICS_TOKEN, checked here
def serve_metrics():
    """The scrape: 404 without METRICS_TOKEN configured, 401 without that bearer token."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return problem(404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return problem(401)
    registry = CollectorRegistry()
    if multiprocess_dir():
        # Every process of this host (gunicorn's workers, Celery's pool) wrote its counts there.
        MultiProcessCollector(registry)
    else:
        registry.register(_Forward(current_app.extensions["prometheus_registry"]))
    registry.register(DatabaseFigures())
    return Response(generate_latest(registry), status=200, content_type=PROMETHEUS_CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})


class _Forward:
    """This process's own request counts (the app's registry) inside the scrape's registry."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self):
        yield from self.registry.collect()


def _age_seconds(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0


class DatabaseFigures:
    """Figures read from the database at scrape time (the same answer from every host)."""

    def describe(self):
        return []  # collected per scrape only: no query when the registry is built

    def collect(self):
        now = utcnow()
        try:
            # Gathered first: a database error must not cut the answer in the middle of a family.
            families = [*outbox_figures(now), *alert_latency_figures(), *audit_figures(now), *totals_figures(now)]
            up = 1
        except SQLAlchemyError:
            log.exception("metrics: the database's figures could not be read")
            families, up = [], 0
        finally:
            db.session.rollback()  # read-only: end the scrape's transaction at once
        yield from families
        yield GaugeMetricFamily("volunteer_metrics_database_up",
                                "1 when this scrape could read the database's figures", value=up)


def outbox_figures(now: datetime):
    jobs = GaugeMetricFamily("volunteer_outbox_jobs", "Outbox jobs waiting to run (pending) or given up (dead)",
                             labels=["status"])
    # ix_outbox_jobs_status_available_at: both counts read only their own rows, never the done ones.
    for status in ("pending", "dead"):
        jobs.add_metric([status], db.session.scalar(
            select(func.count()).select_from(OutboxJob).where(OutboxJob.status == status)))
    yield jobs
    oldest = db.session.scalar(select(func.min(OutboxJob.created_at)).where(OutboxJob.status == "pending"))
    yield GaugeMetricFamily("volunteer_outbox_oldest_pending_age_seconds",
                            "Age of the oldest pending outbox job (0 when none waits)", value=_age_seconds(oldest, now))


def alert_latency_figures():
    """Submission → first inbox alert of the newest flagged inspections (server times at both ends)."""
    # A burst's coalesced alert is about its site (subject_type "site"): only per-inspection alerts count.
    newest = (select(Alert.subject_id, Alert.created_at)
              .where(Alert.kind == "inspection_flagged", Alert.subject_type == "inspection")
              .order_by(Alert.id.desc()).limit(ALERT_LATENCY_SAMPLE))
    first_alert: dict[int, datetime] = {}
    for subject_id, created_at in db.session.execute(newest):
        key = int(subject_id)
        first_alert[key] = min(created_at, first_alert.get(key, created_at))
    latencies = []
    if first_alert:
        received = db.session.execute(
            select(Inspection.id, Inspection.received_at).where(Inspection.id.in_(list(first_alert))))
        latencies = sorted(max(0.0, (first_alert[row.id] - row.received_at).total_seconds()) for row in received)
    quantiles = GaugeMetricFamily(
        "volunteer_alert_latency_seconds",
        f"Submission to first inbox alert, over the newest flagged inspections (up to {ALERT_LATENCY_SAMPLE} alerts)",
        labels=["quantile"])
    for q in ALERT_LATENCY_QUANTILES:
        if latencies:
            quantiles.add_metric([str(q)], latencies[min(len(latencies) - 1, max(0, round(q * len(latencies)) - 1))])
    yield quantiles
    yield GaugeMetricFamily("volunteer_alert_latency_inspections",
                            "Flagged inspections the alert latency figures are taken over", value=len(latencies))


def audit_figures(now: datetime):
    # The unique index on seq holds the NULLs too: the unsealed rows are read from its end.
    unsealed = select(AuditEvent.id, AuditEvent.created_at).where(AuditEvent.seq.is_(None),
                                                                  AuditEvent.seal_refused.is_(None))
    count = db.session.scalar(select(func.count()).select_from(unsealed.subquery()))
    oldest = db.session.execute(unsealed.order_by(AuditEvent.id).limit(1)).first()
    refused = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.seq.is_(None), AuditEvent.seal_refused.is_not(None)))
    yield GaugeMetricFamily("volunteer_audit_unsealed_events", "Audit events written but not sealed into the chain yet",
                            value=count)
    yield GaugeMetricFamily("volunteer_audit_oldest_unsealed_age_seconds",
                            "Age of the oldest unsealed audit event (the sealing lag; 0 when none waits)",
                            value=_age_seconds(oldest.created_at if oldest else None, now))
    yield GaugeMetricFamily("volunteer_audit_refused_events", "Audit events the sealer refused (tampering)",
                            value=refused)
    head = db.session.scalar(select(func.max(AuditEvent.seq)))
    yield GaugeMetricFamily("volunteer_audit_sealed_events", "The sealed chain's head (its seq)", value=head or 0)
    last = verifications.newest_finished_verification()
    if last is not None:
        yield GaugeMetricFamily("volunteer_audit_last_verification_age_seconds",
                                "Age of the newest finished audit chain verification (full or incremental)",
                                value=_age_seconds(last.finished_at, now))
        yield GaugeMetricFamily("volunteer_audit_last_verification_ok",
                                "1 when the newest finished verification found the chain intact and its row's "
                                "AUDIT_KEY signature verifies, else 0",
                                value=1 if last.ok and verifications.signature_verifies(last) else 0)


def totals_figures(now: datetime):
    as_of = db.session.scalar(select(SavingsTotal.computed_at).where(SavingsTotal.scope == "overall"))
    if as_of is not None:
        yield GaugeMetricFamily("volunteer_totals_as_of_age_seconds",
                                "Age of the savings totals' as_of (their last full or targeted recompute)",
                                value=_age_seconds(as_of, now))
