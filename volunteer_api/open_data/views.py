from decimal import Decimal

from babel.dates import format_datetime

from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, render_template, request, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from ..i18n import LANGUAGES, select_language
from ..auth.access import public
from ..timestamps import ALMATY, format_utc
from ..web import page_csp
from . import oc4ids, page
from .schemas import PublicSummarySchema
from .summary import public_summary

blp = Blueprint("open_data", __name__, url_prefix="/api/v1", description="Open data for the public (no sign-in)")
pages = FlaskBlueprint("transparency", __name__, template_folder="templates")


def _cache_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={current_app.config['PUBLIC_CACHE_SECONDS']}"
    return response


@blp.route("/open-data/oc4ids.json")
class Oc4idsExport(MethodView):
    @public
    @blp.response(200, content_type="application/json", description=(
        "An OC4IDS 0.9 project package: one project per site (identifiers, title, sector and type from the "
        "OC4IDS codelists, budget, location as a GeoJSON point, status, the contractor as a `supplier` party, "
        "and the monitoring's approved savings and inspection counts as `metrics`). No personal data.\n\n"
        "Made by the workers every `OPEN_DATA_EXPORT_INTERVAL_SECONDS` (15 minutes by default) and streamed as "
        "made: `Last-Modified` and the package's `publishedDate` say when, `ETag` is its sha256 "
        "(`If-None-Match` → 304). A new installation's first requests, before the first export is stored, get "
        "the package made at that moment (no ETag) and queue the first build."))
    @blp.alt_response(304, description="Not modified since the export named by If-None-Match")
    @blp.doc(operationId="exportOc4ids")
    def get(self):
        """Export every site as an OC4IDS project (public open data)."""
        export = oc4ids.newest_export_or_queue_first()
        if export is None:  # a new installation: made now, while the workers make the first stored one
            response = Response(stream_with_context(oc4ids.stream_project_package()), mimetype="application/json")
            response.headers["Cache-Control"] = "no-cache"
            return response
        response = Response(stream_with_context(oc4ids.export_parts(export.id)), mimetype="application/json")
        response.set_etag(export.sha256)
        response.last_modified = export.made_at
        response.content_length = export.size_bytes
        return _cache_headers(response).make_conditional(request)


@blp.route("/public/summary")
class PublicSummary(MethodView):
    @public
    @blp.response(200, PublicSummarySchema, description=(
        "What the monitoring achieved, by district, from the figures the workers computed; cached for a minute "
        "(`PUBLIC_CACHE_SECONDS`; `ETag`, `If-None-Match` → 304). The fix rate is never given without its "
        "denominators. No person is named."))
    @blp.alt_response(304, description="Not modified since the summary named by If-None-Match")
    @blp.doc(operationId="getPublicSummary")
    def get(self):
        """Read the public summary: approved savings, sites, inspections and the fix rate."""
        return public_summary(max_age_seconds=current_app.config["PUBLIC_CACHE_SECONDS"])


@blp.after_request
def _public_caching(response):
    if request.endpoint == "open_data.PublicSummary" and response.status_code == 200:
        response.add_etag()  # the same figures, the same tag: a revalidation gets a 304
        return _cache_headers(response).make_conditional(request)
    return response


@pages.route("/transparency")
@public
def transparency():
    """The public page of the summary with charts drawn on the server (no JavaScript), cached like the summary."""
    language = request.args.get("lang") if request.args.get("lang") in LANGUAGES else select_language()
    summary = public_summary(max_age_seconds=current_app.config["PUBLIC_CACHE_SECONDS"])
    rows = [{**row, "name": row["names"][language], "approved": page.tenge(row["approved_tiyn"], language),
             "share": page.share(row["fix_rate"], language)} for row in summary["by_district"]]
    shown = {**summary, "approved": page.tenge(summary["approved_tiyn"], language), "by_district": rows,
             "share": page.share(summary["fix_rate"], language),
             "as_of": format_utc(summary["as_of"]) if summary["as_of"] else None,
             "as_of_local": _almaty(summary["as_of"], language) if summary["as_of"] else None}
    texts = page.texts(language)
    charts = [
        {"id": "savings", "title": texts["savings_chart"], "bars": page.bars(
            [(row["name"], row["approved_tiyn"], row["approved"]) for row in rows])},
        {"id": "fixes", "title": texts["fix_chart"], "bars": page.bars(
            [(row["name"], float(Decimal(row["fix_rate"] or "0")), row["share"]) for row in rows])},
    ]
    html = render_template("open_data/transparency.html", language=language, t=texts, summary=shown,
                           charts=charts, chart_width=page.CHART_WIDTH, row_height=page.ROW_HEIGHT,
                           language_names=page.LANGUAGE_NAMES)
    response = Response(html, mimetype="text/html")
    response.headers["Content-Language"] = language
    response.headers["Content-Security-Policy"] = page_csp()
    response.vary.add("Accept-Language")
    # The same figures give the same page: a browser or proxy revalidates with If-None-Match and gets a 304.
    response.add_etag()
    return _cache_headers(response).make_conditional(request)


def _almaty(value, language: str) -> str:
    return format_datetime(value, format="d MMMM y, HH:mm", tzinfo=ALMATY, locale=language) + " (UTC+5)"
