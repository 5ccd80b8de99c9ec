"""Volunteer Monitor: the backend behind the anti-corruption volunteers' phones."""
from pathlib import Path

from flask import Flask

from config import load_config


def create_app(overrides: dict | None = None) -> Flask:
    """Build the application: settings from the environment, then `overrides` (tests)."""
    from . import observability, security
    from .auth.access import init_jwt_handlers
    from .devices.views import register_version_gate
    from .errors import register_error_handlers
    from .extensions import api, babel, csrf, db, jwt, limiter, migrate
    from .i18n import select_language
    from .ids import IdConverter
    from .jobs import dispatch
    from .jobs.handlers import JOBS, SWEEPS
    from .json_answers import OrjsonAnswers
    from .operations import metrics as operations_metrics

    app = Flask(__name__, static_folder=None)
    app.json = OrjsonAnswers(app)
    app.url_map.converters["id"] = IdConverter
    app.config.from_object(load_config())
    app.config.update(overrides or {})
    if app.config["APP_ENV"] != "testing":
        observability.configure_logging()
        if app.config.get("AUDIT_KEY_DERIVED"):
            _warn_once_when_serving(app, "AUDIT_KEY is not set: the audit chain is keyed with a key derived from "
                                         "SECRET_KEY (development only; production requires its own AUDIT_KEY)")
    _ensure_sqlite_directory(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["TRUSTED_PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_package_dir() / "migrations"), render_as_batch=True)
    jwt.init_app(app)
    init_jwt_handlers()
    babel.init_app(app, locale_selector=select_language)
    security.register_retry_after_cleanup(app)  # before the limiter: see its docstring
    security.register_body_limits(app)  # before the limiter too: its login key reads the body
    limiter.init_app(app)
    csrf.init_app(app)
    api.init_app(app)
    _document_security(api)
    register_error_handlers(app)
    observability.init_app(app)
    security.init_app(app)
    dispatch.init_app(app, jobs=JOBS, sweeps=SWEEPS)
    _register_blueprints(app, api)
    operations_metrics.init_app(app)
    register_version_gate(app)
    _register_commands(app)
    return app


def _warn_once_when_serving(app: Flask, message: str) -> None:
    """Log `message` at the first request served: the CLI's commands (create-admin...) keep their one-line output."""
    pending = [message]

    @app.before_request
    def warn():
        if pending:
            app.logger.warning(pending.pop())


def _ensure_sqlite_directory(uri: str) -> None:
    """The embedded default is a file under instance/: create the folder on first start."""
    from sqlalchemy.engine import make_url

    url = make_url(uri)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _package_dir():
    return Path(__file__).resolve().parent


def _register_blueprints(app: Flask, api) -> None:
    from . import web
    from .alerts.views import blp as alerts
    from .console.views import blp as console
    from .audit.views import blp as audit
    from .devices.views import blp as devices
    from .auth.views import blp as auth
    from .cases.views import blp as cases
    from .districts.views import blp as districts
    from .inspections.views import blp as inspections
    from .maps.views import blp as maps
    from .open_data.views import blp as open_data
    from .open_data.views import pages as transparency
    from .operations.views import api_blp as jobs
    from .operations.views import blp as operations
    from .people.views import blp as people
    from .reports.views import blp as reports
    from .savings.views import blp as savings
    from .sites.views import blp as sites
    from .sync.views import blp as sync
    from .webapp.views import blp as webapp

    for blueprint in (auth, districts, people, sites, inspections, cases, maps, savings, reports, open_data, alerts,
                      audit, sync, jobs, devices):
        api.register_blueprint(blueprint)
    app.register_blueprint(operations)
    app.register_blueprint(transparency)
    web.init_app(app)
    app.register_blueprint(console)
    app.register_blueprint(webapp)
    _import_models()


def _import_models() -> None:
    """Every table must be in the metadata, for Alembic and for `flask db check`."""
    from . import quotas as _quotas  # noqa: F401 - the daily usage table
    from .jobs import outbox as _outbox  # noqa: F401
    from .alerts import models as _alerts  # noqa: F401
    from .audit import models as _audit  # noqa: F401
    from .auth import models as _auth  # noqa: F401
    from .cases import models as _cases  # noqa: F401
    from .devices import models as _devices  # noqa: F401
    from .districts import models as _districts  # noqa: F401
    from .inspections import models as _inspections  # noqa: F401
    from .open_data import models as _open_data  # noqa: F401
    from .people import models as _people  # noqa: F401
    from .reports import models as _reports  # noqa: F401
    from .risk import models as _risk  # noqa: F401
    from .savings import models as _savings  # noqa: F401
    from .sites import models as _sites  # noqa: F401
    from .sync import models as _sync  # noqa: F401


def _document_security(api) -> None:
    from marshmallow import Schema, fields

    class ProblemSchema(Schema):
        type = fields.String(required=True)
        title = fields.String(required=True)
        status = fields.Integer(required=True)
        detail = fields.String()
        errors = fields.Dict(keys=fields.String(), values=fields.Raw())

    if "bearerAuth" not in api.spec.components.security_schemes:
        api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
        api.spec.components.schema("Problem", schema=ProblemSchema)


def _register_commands(app: Flask) -> None:
    from .cli import backup_command, create_admin_command, restore_command

    for command in (create_admin_command, backup_command, restore_command):
        app.cli.add_command(command)
