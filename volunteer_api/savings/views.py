from datetime import date

from flask import Response, send_file, stream_with_context
from flask.views import MethodView

from ..audit.schemas import HistorySchema
from ..auth.access import current_user, roles
from ..pagination import page_schema
from ..security import Blueprint
from . import exports, services
from .schemas import ExportArgsSchema, SavingCreateSchema, SavingListArgsSchema, SavingReviewSchema, SavingSchema, \
    TotalsArgsSchema, TotalsSchema

blp = Blueprint("savings", __name__, url_prefix="/api/v1", description="Savings reports and their totals")

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _export_name(args: dict, extension: str) -> str:
    period = "-".join(d.isoformat() for d in (args.get("date_from"), args.get("date_to")) if isinstance(d, date))
    return f"savings-approved{'-' + period if period else ''}.{extension}"


@blp.route("/savings")
class Savings(MethodView):
    @roles("admin", "inspector", "volunteer")
    @blp.arguments(SavingListArgsSchema, location="query")
    @blp.response(200, page_schema(SavingSchema))
    @blp.doc(operationId="listSavings")
    def get(self, args):
        """List savings reports, newest first (a volunteer sees their own, an inspector their districts')."""
        items, next_cursor = services.list_savings(user=current_user(), **args)
        return {"items": items, "next_cursor": next_cursor}

    @roles("volunteer")
    @blp.arguments(SavingCreateSchema)
    @blp.response(201, SavingSchema)
    @blp.alt_response(200, schema=SavingSchema, description="A retry with the same client_uuid and body: the first report")
    @blp.alt_response(409, description="The client_uuid was used with a different body")
    @blp.alt_response(422, description="Invalid fields, e.g. a float amount or an unknown site_id")
    @blp.doc(operationId="reportSaving")
    def post(self, data):
        """Report budget money saved on a site (idempotent on client_uuid)."""
        report, created = services.file_saving(volunteer_id=current_user().id, **data)
        return report, 201 if created else 200


@blp.route("/savings/totals")
class SavingsTotals(MethodView):
    @roles("admin", "inspector", "volunteer")
    @blp.arguments(TotalsArgsSchema, location="query")
    @blp.response(200, TotalsSchema, description=(
        "Approved and pending totals as the workers last computed them. `as_of` is when the totals were "
        "last verified: every filed or decided report has its district, site, volunteer, category and month "
        "recomputed within seconds (stamping `as_of`), and every breakdown is reconciled against all reports "
        "every 5 minutes. `?by=` adds breakdowns: "
        "by_site and by_volunteer (largest approved first, at most `limit`; a volunteer gets their own line "
        "only), by_category, and by_month — approvals by the month (UTC) in which they were approved."))
    @blp.doc(operationId="getSavingsTotals")
    def get(self, args):
        """Read the savings totals the workers computed."""
        return services.read_totals(user=current_user(), **args)


@blp.route("/savings/export.csv")
class SavingsExportCsv(MethodView):
    @roles("admin", "inspector")
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200, content_type="text/csv", description="Approved savings (an inspector: their districts), "
                  "by approval time; `from`/`to` are approval dates (UTC), inclusive. Amounts are exact decimals.")
    @blp.doc(operationId="exportSavingsCsv")
    def get(self, args):
        """Export approved savings as CSV for the agency's monthly report."""
        chunks = exports.stream_csv(user=current_user(), **args)
        response = Response(stream_with_context(chunks), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{_export_name(args, "csv")}"'
        return response


@blp.route("/savings/export.xlsx")
class SavingsExportXlsx(MethodView):
    @roles("admin", "inspector")
    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200, content_type=XLSX_MEDIA_TYPE, description="The same rows as the CSV export, as a workbook; "
                  "amounts are numbers formatted with two decimals.")
    @blp.doc(operationId="exportSavingsXlsx")
    def get(self, args):
        """Export approved savings as an Excel workbook."""
        handle = exports.write_xlsx(user=current_user(), **args)
        return send_file(handle, mimetype=XLSX_MEDIA_TYPE, as_attachment=True,
                         download_name=_export_name(args, "xlsx"))


@blp.route("/savings/<id:saving_id>")
class SavingById(MethodView):
    @roles("admin", "inspector", "volunteer")
    @blp.response(200, SavingSchema)
    @blp.doc(operationId="getSaving")
    def get(self, saving_id):
        """Read a savings report."""
        return services.get_saving(user=current_user(), saving_id=saving_id)


@blp.route("/savings/<id:saving_id>/review")
class SavingReview(MethodView):
    @roles("admin", "inspector")
    @blp.arguments(SavingReviewSchema)
    @blp.response(200, SavingSchema)
    @blp.alt_response(404, description="No such report, or not in the inspector's districts")
    @blp.alt_response(409, description="The report was already decided")
    @blp.doc(operationId="reviewSaving")
    def post(self, data, saving_id):
        """Approve or reject a pending savings report (once)."""
        return services.review_saving(user=current_user(), saving_id=saving_id, **data)


@blp.route("/savings/<id:saving_id>/history")
class SavingHistory(MethodView):
    @roles("admin", "inspector", "volunteer")
    @blp.response(200, HistorySchema)
    @blp.doc(operationId="listSavingHistory")
    def get(self, saving_id):
        """List every state change of a savings report, oldest first: filed, approved or rejected."""
        return {"items": services.saving_history(user=current_user(), saving_id=saving_id)}
