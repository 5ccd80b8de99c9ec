"""Settings per environment, read from the environment variables the contract names."""
import hashlib
import hmac
import os
import secrets
from datetime import timedelta
from pathlib import Path

import orjson

from .storage import check_s3_endpoint, parse_photo_storage

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The development secret the repository once shipped: refused in production like any weak one.
DEFAULT_SECRET = "dev-only-secret-change-me-in-production-0000"
MIN_SECRET_LENGTH = 32
INSTANCE_SECRET_FILE = "secret_key"


def instance_secret(instance: Path) -> str:
    """This instance's own signing secret for development and tests: made once under `instance/`
    (mode 0600), then read, so no two installations share one and none is in the repository."""
    path = instance / INSTANCE_SECRET_FILE
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        draft = instance / f".{INSTANCE_SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            # A link never replaces an existing file: of two processes starting at once, both read the winner's.
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()

# Chrome/Edge/Android (FCM), Firefox (Mozilla autopush), Safari (Apple), legacy Edge (WNS).
DEFAULT_WEB_PUSH_HOSTS = ("fcm.googleapis.com", "push.services.mozilla.com", "push.apple.com", "notify.windows.com")


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


# Longer than any task may run (the hard time limit), or Redis hands a running task to a second worker.
CELERY_VISIBILITY_TIMEOUT_SECONDS = 900
CELERY_TASK_TIME_LIMIT_SECONDS = 300
# How long the beat sleeps at most between ticks (each renews the beat lock), and how often a waiting beat
# tries to take the lock over.
BEAT_MAX_INTERVAL_SECONDS = 3


def celery_settings(redis_url: str | None, *, beat_lock_timeout: float = 15) -> dict:
    """Celery settings for at-least-once work, shared by the producer (web) and the workers."""
    # The visibility timeout must outlast the longest run (the hard time limit) or Redis redelivers a
    # task that is still running; and it is set in all three places or it silently isn't (celery #7651).
    visibility_timeout = CELERY_VISIBILITY_TIMEOUT_SECONDS
    transport = {"visibility_timeout": visibility_timeout, "socket_connect_timeout": 2, "socket_timeout": 5}
    return {
        "broker_url": redis_url,
        "result_backend": redis_url,
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "visibility_timeout": visibility_timeout,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_time_limit": CELERY_TASK_TIME_LIMIT_SECONDS,
        "task_soft_time_limit": CELERY_TASK_TIME_LIMIT_SECONDS - 60,
        # A task running when the broker connection drops finishes; its ack is lost, and the redelivery
        # finds its outbox row done (run_job). Cancelling it instead made a threads-pool worker exit
        # (celery 5.6: "TaskPool does not implement kill_job"), and with it the relay, until restarted.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # One beat schedules, however many run (one per worker host): RedBeat's lock in Redis (the
        # scheduler: workers/schedulers.py). Its holder renews it at every tick (at most
        # beat_max_loop_interval apart); a killed holder's lock expires after beat_lock_timeout and a
        # waiting beat, polling every beat_max_loop_interval, takes over: a sweep pauses at most timeout +
        # interval (15 + 3 s). The schedule's last runs are kept in Redis too, so the successor goes on
        # with it rather than starting over.
        "redbeat_redis_url": redis_url,
        "redbeat_key_prefix": "volunteer-monitor:redbeat",
        # Its own client's timeouts (no retrying wrapper: a tick that fails is retried by the scheduler).
        "redbeat_redis_options": {"socket_connect_timeout": 2, "socket_timeout": 5},
        "redbeat_lock_timeout": int(beat_lock_timeout),
        "beat_max_loop_interval": BEAT_MAX_INTERVAL_SECONDS,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
    }


class BaseConfig:
    """Defaults shared by every environment; the embedded mode (SQLite file, in-process tasks)."""

    APP_ENV = "development"
    TESTING = False

    def __init__(self) -> None:
        instance = PROJECT_ROOT / "instance"
        # Without SECRET_KEY, development and tests sign with the instance's own secret (production refuses).
        self.SECRET_KEY_IS_INSTANCE_SECRET = not os.environ.get("SECRET_KEY")
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or self.default_secret(instance)
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'volunteer_monitor.db'}"
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.UPLOAD_DIR = os.environ.get("UPLOAD_DIR") or str(instance / "uploads")
        # Unset or `file:`: UPLOAD_DIR. `s3://bucket/prefix`: an S3-compatible store at S3_ENDPOINT_URL
        # (AWS itself when unset), with the credentials boto3 finds (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
        self.PHOTO_STORAGE = os.environ.get("PHOTO_STORAGE") or "file:"
        self.S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
        self.SMTP_URL = os.environ.get("SMTP_URL") or None
        self.SMTP_FROM = os.environ.get("SMTP_FROM", "alerts@volunteer-monitor.kz")
        self.ALERT_WEBHOOK_URL = os.environ.get("ALERT_WEBHOOK_URL") or None
        self.ALERT_WEBHOOK_SECRET = os.environ.get("ALERT_WEBHOOK_SECRET") or ""
        self.PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://localhost:5000")
        self.ESCALATION_AFTER_HOURS = _int("ESCALATION_AFTER_HOURS", 48)
        # A confirmed violation still unresolved this many days after confirmation alerts its district.
        self.CASE_ESCALATION_AFTER_DAYS = _int("CASE_ESCALATION_AFTER_DAYS", 30)
        # Public figures (/public/summary, /transparency, the OC4IDS export) may be this old; proxies may cache them.
        self.PUBLIC_CACHE_SECONDS = _int("PUBLIC_CACHE_SECONDS", 60)
        # OC4IDS project ids begin with the publisher's registered prefix.
        self.OC4IDS_PREFIX = os.environ.get("OC4IDS_PREFIX", "oc4ids-vmzhmb")
        self.OPEN_DATA_PUBLISHER = os.environ.get("OPEN_DATA_PUBLISHER", "Volunteer Monitor, Zhambyl region")
        # A TrueType font with Cyrillic and the Kazakh letters for the monthly report's PDF.
        self.REPORT_FONT_PATH = os.environ.get("REPORT_FONT_PATH") or "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
        # Past the first ALERT_BURST_AFTER flagged inspections of one site in a window, the rest of the
        # window's join one alert per recipient (0 turns coalescing off).
        self.ALERT_BURST_AFTER = _int("ALERT_BURST_AFTER", 3)
        self.ALERT_BURST_WINDOW_MINUTES = _int("ALERT_BURST_WINDOW_MINUTES", 10)
        # Several beats (one per worker host): a killed lock holder is replaced after this (see celery_settings).
        self.BEAT_LOCK_TIMEOUT_SECONDS = _int("BEAT_LOCK_TIMEOUT_SECONDS", 15)
        if self.BEAT_LOCK_TIMEOUT_SECONDS < 3 * BEAT_MAX_INTERVAL_SECONDS:
            # The holder renews at most BEAT_MAX_INTERVAL_SECONDS apart: a shorter lock would lapse between
            # ticks of a live beat and let a second one schedule the same sweeps.
            raise RuntimeError(f"BEAT_LOCK_TIMEOUT_SECONDS must be at least {3 * BEAT_MAX_INTERVAL_SECONDS}")
        self.CELERY = celery_settings(self.REDIS_URL, beat_lock_timeout=self.BEAT_LOCK_TIMEOUT_SECONDS)
        # How often each sweep runs (volunteer_api/jobs/handlers.py names them).
        self.RELAY_INTERVAL_SECONDS = _float("RELAY_INTERVAL_SECONDS", 5)
        self.AUDIT_SEAL_INTERVAL_SECONDS = _float("AUDIT_SEAL_INTERVAL_SECONDS", 2)
        self.ESCALATION_CHECK_INTERVAL_SECONDS = _float("ESCALATION_CHECK_INTERVAL_SECONDS", 300)
        self.TOTALS_RECONCILE_INTERVAL_SECONDS = _float("TOTALS_RECONCILE_INTERVAL_SECONDS", 300)
        self.OUTCOMES_RECONCILE_INTERVAL_SECONDS = _float("OUTCOMES_RECONCILE_INTERVAL_SECONDS", 300)
        self.CASE_ESCALATION_CHECK_INTERVAL_SECONDS = _float("CASE_ESCALATION_CHECK_INTERVAL_SECONDS", 3600)
        self.RISK_REASSESS_INTERVAL_SECONDS = _float("RISK_REASSESS_INTERVAL_SECONDS", 900)
        # Last month's report is made by the first check on the 1st (Asia/Almaty); later checks find it kept.
        self.MONTHLY_REPORT_CHECK_INTERVAL_SECONDS = _float("MONTHLY_REPORT_CHECK_INTERVAL_SECONDS", 3600)
        self.AUDIT_CHECKPOINT_SECONDS = _float("AUDIT_CHECKPOINT_SECONDS", 600)
        # The audit chain's tail is verified (and the signed result stored) this often between calls.
        self.AUDIT_VERIFY_INTERVAL_SECONDS = _float("AUDIT_VERIFY_INTERVAL_SECONDS", 600)
        # /metrics answers only to this bearer token (a scraper's, not a user's); unset, it is not served (404).
        self.METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
        # A worker process serves its task counts (Prometheus) on this internal address; unset, it does not.
        self.METRICS_WORKER_BIND = os.environ.get("METRICS_WORKER_BIND") or None
        self.QUOTA_USAGE_CLEANUP_INTERVAL_SECONDS = _float("QUOTA_USAGE_CLEANUP_INTERVAL_SECONDS", 6 * 3600)
        # The public OC4IDS export (50,000 sites: seconds of work) is made by the workers, not per request.
        self.OPEN_DATA_EXPORT_INTERVAL_SECONDS = _float("OPEN_DATA_EXPORT_INTERVAL_SECONDS", 900)
        # A job published this long ago and still pending is presumed lost (a worker died holding it, the
        # broker lost it) and published again. Far below the visibility timeout, so the relay, not Redis's
        # restore of unacked messages, is what recovers work a killed worker held. Too short only costs
        # duplicate messages, which run_job discards (the row is done, or locked by the run in progress).
        self.OUTBOX_REPUBLISH_AFTER_SECONDS = _float("OUTBOX_REPUBLISH_AFTER_SECONDS", 30)
        self.CORS_ORIGINS = _list("CORS_ORIGINS")
        # Phones: an app older than its platform's minimum is answered 426 (compared as versions: 1.10 > 1.9).
        self.MIN_CLIENT_VERSIONS = {platform: os.environ.get(f"MIN_{platform.upper()}_VERSION") or "1.0.0"
                                    for platform in ("android", "ios", "web")}
        # Web Push (VAPID): the key pair from VAPID_PRIVATE_KEY (PEM or base64url); without it, development
        # and tests generate one per instance under instance/ (browsers' subscriptions are bound to it).
        self.VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY") or None
        self.VAPID_KEY_FILE = os.environ.get("VAPID_KEY_FILE") or str(instance / "vapid_private.pem")
        self.VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT") or f"mailto:{self.SMTP_FROM}"
        # The push services a browser subscription may point at (the server POSTs there): host suffixes.
        self.WEB_PUSH_ENDPOINT_HOSTS = _list("WEB_PUSH_ENDPOINT_HOSTS") or list(DEFAULT_WEB_PUSH_HOSTS)
        # FCM HTTP v1 for the native apps: a Firebase service-account JSON file; unset, no native push.
        self.FCM_CREDENTIALS_FILE = os.environ.get("FCM_CREDENTIALS_FILE") or None
        # Reverse proxies in front of the app: their X-Forwarded-For hops are trusted for the caller's
        # address (login limits, audit). 0 when clients connect directly.
        self.TRUSTED_PROXY_HOPS = _int("TRUSTED_PROXY_HOPS", 0)
        # Embedded mode (no REDIS_URL) has no beat: the web process runs the periodic sweeps itself.
        self.EMBEDDED_SCHEDULER = _bool("EMBEDDED_SCHEDULER", True)

        self.RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_HEADERS_ENABLED = True
        # Failed sign-ins: per account from one address (a stranger's tries lock out only the stranger),
        # per account from all addresses together (higher), per address. Successes: per account and per
        # address (each costs an Argon2 hash, a session and an audit event). See auth/limits.py.
        self.LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes")
        self.LOGIN_LIMIT_PER_ACCOUNT_ALL_ADDRESSES = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT_ALL_ADDRESSES",
                                                                    "20 per 15 minutes")
        self.LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per 15 minutes")
        self.LOGIN_SUCCESS_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_SUCCESS_LIMIT_PER_ACCOUNT", "10 per 15 minutes")
        self.LOGIN_SUCCESS_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_SUCCESS_LIMIT_PER_ADDRESS", "100 per 15 minutes")
        # Open sessions an account may hold; signing in once more revokes the oldest.
        self.MAX_SESSIONS_PER_ACCOUNT = _int("MAX_SESSIONS_PER_ACCOUNT", 10)
        # As high as the all-addresses ceiling, so the backstop cannot be tripped by fewer tries than it.
        self.LOGIN_LOCKOUT_AFTER_FAILURES = _int("LOGIN_LOCKOUT_AFTER_FAILURES", 20)
        self.LOGIN_LOCKOUT_MINUTES = _int("LOGIN_LOCKOUT_MINUTES", 15)
        self.WRITE_LIMIT_PER_USER = os.environ.get("WRITE_LIMIT_PER_USER", "120 per minute")
        # Per account and Almaty calendar day (0: no limit). A busy volunteer visits a dozen sites a day
        # with a few photos each; these leave ten times that and stop a script filling the disk.
        self.DAILY_QUOTAS = {
            "inspections": _int("QUOTA_INSPECTIONS_PER_DAY", 100),
            "savings": _int("QUOTA_SAVINGS_PER_DAY", 20),
            "photo_bytes": _int("QUOTA_PHOTO_MB_PER_DAY", 1024) * 1024 * 1024,
        }

        # The audit chain's HMAC key: a secret the database does not hold. Without AUDIT_KEY (development,
        # tests) it is derived from SECRET_KEY; production refuses to start without its own.
        self.AUDIT_KEY = os.environ.get("AUDIT_KEY") or hmac.new(
            self.SECRET_KEY.encode(), b"volunteer-monitor audit chain", hashlib.sha256).hexdigest()
        self.AUDIT_KEY_DERIVED = not os.environ.get("AUDIT_KEY")
        # A legitimate event is sealed seconds after it is written; one older than the sealed head by
        # more than this was inserted back-dated and is refused.
        self.AUDIT_SEAL_GRACE_SECONDS = _int("AUDIT_SEAL_GRACE_SECONDS", 300)
        # Signed checkpoints of the chain's head also go to this file, one JSON line each.
        self.AUDIT_ANCHOR_FILE = os.environ.get("AUDIT_ANCHOR_FILE") or str(instance / "audit-anchors.jsonl")

        self.JWT_SECRET_KEY = self.SECRET_KEY
        self.JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=_int("ACCESS_TOKEN_MINUTES", 15))
        self.JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=_int("REFRESH_TOKEN_DAYS", 30))
        self.JWT_TOKEN_LOCATION = ["headers"]

        # An account with a generated or reset password may do nothing but set its own (off by default,
        # so phones that cannot yet change a password keep working).
        self.FORCE_PASSWORD_CHANGE = _bool("FORCE_PASSWORD_CHANGE", False)
        self.PASSWORD_TIME_COST = _int("PASSWORD_TIME_COST", 3)
        self.PASSWORD_MEMORY_COST_KIB = _int("PASSWORD_MEMORY_COST_KIB", 65536)

        # Flask 3.1 request limits: photos are at most 10 MB; no form needs many parts.
        self.MAX_CONTENT_LENGTH = 11 * 1024 * 1024
        self.MAX_FORM_MEMORY_SIZE = 512 * 1024
        # JSON bodies have a limit of their own, far below the photos' (no JSON request needs more than a
        # few KB): checked from Content-Length before a byte is read, and where a chunked body is read.
        self.MAX_JSON_BODY_BYTES = _int("MAX_JSON_BODY_BYTES", 64 * 1024)
        self.MAX_FORM_PARTS = 20
        self.MAX_PHOTO_BYTES = 10 * 1024 * 1024
        self.MAX_IMAGE_PIXELS = 50_000_000

        # The console's cookie session: sent only to /console/ (the API stays bearer-only and cookie-free),
        # HttpOnly, SameSite=Lax, Secure in production; it ends after CONSOLE_IDLE_MINUTES without a click.
        self.SESSION_COOKIE_NAME = "console_session"
        self.SESSION_COOKIE_PATH = "/console/"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
        self.CONSOLE_IDLE_MINUTES = _int("CONSOLE_IDLE_MINUTES", 30)
        # Flask-WTF: the console checks CSRF itself (the API takes bearer tokens, no cookies, no CSRF);
        # a token lives as long as the session, not an hour, so a page left open still submits.
        self.WTF_CSRF_CHECK_DEFAULT = False
        self.WTF_CSRF_TIME_LIMIT = None
        # An XYZ tile server for the console's maps ({z}/{x}/{y}); none: sites on a plain background.
        self.MAP_TILES_URL = os.environ.get("MAP_TILES_URL") or None
        self.MAP_TILES_ATTRIBUTION = os.environ.get("MAP_TILES_ATTRIBUTION", "")

        # hide_parameters: a database error's message (logged) must not carry the bound values: phones,
        # password hashes, whatever a row held.
        # json_deserializer: a page of 50 inspections reads ~100 JSON values (checklists, flag reasons);
        # orjson parses them several times faster than the standard library.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True,
                                          "json_deserializer": orjson.loads}
        # A pooler in transaction mode (PgBouncer) hands each transaction whatever server connection is
        # free: a statement psycopg prepared on one is unknown on the next, so none is prepared. (The
        # app keeps no other session state: its advisory locks and SETs are transaction-scoped.)
        self.DATABASE_POOLER = os.environ.get("DATABASE_POOLER", "").strip().lower() or None
        if self.DATABASE_POOLER not in (None, "pgbouncer"):
            raise RuntimeError(f"DATABASE_POOLER must be unset or 'pgbouncer', not {self.DATABASE_POOLER!r}")
        if self.DATABASE_POOLER:
            self.SQLALCHEMY_ENGINE_OPTIONS["connect_args"] = {"prepare_threshold": None}
        self.BABEL_DEFAULT_LOCALE = "ru"
        self.BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "volunteer_api" / "translations")

        self.API_TITLE = "Volunteer Monitor API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        self.OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"

    def default_secret(self, instance: Path) -> str:
        return instance_secret(instance)

    def validate(self) -> None:
        """Refuse configurations that must never run."""
        try:
            parse_photo_storage(self.PHOTO_STORAGE)
            check_s3_endpoint(self.S3_ENDPOINT_URL)
        except ValueError as error:
            raise RuntimeError(str(error)) from None


class DevelopmentConfig(BaseConfig):
    APP_ENV = "development"


class TestingConfig(BaseConfig):
    APP_ENV = "testing"
    TESTING = True

    def __init__(self) -> None:
        super().__init__()
        # Tests log in hundreds of times; production cost stays in the other configs.
        self.PASSWORD_TIME_COST = 1
        self.PASSWORD_MEMORY_COST_KIB = 1024
        # Each test sees the figures it just made (a test of the cache sets its own).
        self.PUBLIC_CACHE_SECONDS = _int("PUBLIC_CACHE_SECONDS", 0)
        # Tests call the sweeps when they mean to; a test of the embedded schedule turns it on.
        self.EMBEDDED_SCHEDULER = _bool("EMBEDDED_SCHEDULER", False)
        # The tests' push service is a local HTTP server.
        self.WEB_PUSH_ENDPOINT_HOSTS = [*self.WEB_PUSH_ENDPOINT_HOSTS, "127.0.0.1"]


class ProductionConfig(BaseConfig):
    APP_ENV = "production"

    def default_secret(self, instance: Path) -> str:
        return ""  # refused by validate()

    def __init__(self) -> None:
        super().__init__()
        self.SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
        # Production's VAPID key is a secret it is given (VAPID_PRIVATE_KEY), never one it makes up:
        # every browser subscription is bound to it. Unset, Web Push is off.
        self.VAPID_KEY_FILE = os.environ.get("VAPID_KEY_FILE") or None

    def validate(self) -> None:
        super().validate()
        secret = os.environ.get("SECRET_KEY", "")
        if not secret or secret == DEFAULT_SECRET or len(secret) < MIN_SECRET_LENGTH:
            raise RuntimeError(
                f"APP_ENV=production needs SECRET_KEY set to a random value of at least {MIN_SECRET_LENGTH} characters"
            )
        if not os.environ.get("DATABASE_URL"):
            raise RuntimeError("APP_ENV=production needs DATABASE_URL")
        audit_key = os.environ.get("AUDIT_KEY", "")
        if len(audit_key) < MIN_SECRET_LENGTH or audit_key == secret:
            # Derived from SECRET_KEY, the chain's key would sit wherever the token secret does.
            raise RuntimeError(
                f"APP_ENV=production needs AUDIT_KEY: a random value of at least {MIN_SECRET_LENGTH} characters, "
                "not the SECRET_KEY (it keys the audit chain; keep it out of the database's reach)")
        if not os.environ.get("REDIS_URL"):
            # Without it every web worker keeps its own rate-limit counters (a limit of 5 lets 5 per worker
            # through) and runs the jobs in its own threads.
            raise RuntimeError("APP_ENV=production needs REDIS_URL (shared rate limits, the Celery workers)")
        if "*" in _list("CORS_ORIGINS"):
            raise RuntimeError("APP_ENV=production refuses CORS_ORIGINS='*': name the origins of the consoles")
        if os.environ.get("ALERT_WEBHOOK_URL") and len(os.environ.get("ALERT_WEBHOOK_SECRET", "")) < MIN_SECRET_LENGTH:
            # An empty or short key would let anyone forge the signed alerts the receiver trusts.
            raise RuntimeError(
                f"ALERT_WEBHOOK_URL needs ALERT_WEBHOOK_SECRET of at least {MIN_SECRET_LENGTH} characters"
            )
        if os.environ.get("METRICS_TOKEN") and len(os.environ["METRICS_TOKEN"]) < MIN_SECRET_LENGTH:
            # A guessable scraper's token would open the operational figures to anyone.
            raise RuntimeError(f"METRICS_TOKEN needs at least {MIN_SECRET_LENGTH} characters")


CONFIGS = {"development": DevelopmentConfig, "testing": TestingConfig, "production": ProductionConfig}


def load_config(env: str | None = None) -> BaseConfig:
    """Build the settings object for APP_ENV (or the given environment) and validate it."""
    name = (env or os.environ.get("APP_ENV") or "development").lower()
    if name not in CONFIGS:
        raise RuntimeError(f"Unknown APP_ENV {name!r}; expected one of {sorted(CONFIGS)}")
    config = CONFIGS[name]()
    config.validate()
    return config
