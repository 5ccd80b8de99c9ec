from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth.access import roles
from . import services
from .schemas import MonthlyReportArgsSchema

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="The region's monthly report")


@blp.route("/reports/monthly")
class MonthlyReport(MethodView):
    @roles("admin")
    @blp.arguments(MonthlyReportArgsSchema, location="query")
    @blp.response(200, content_type="application/pdf", description=(
        "The month's report as the workers made it on the 1st (or now, once, for a month never made): "
        "activity, flags by reason and district, review speed, savings claimed / approved / rejected against "
        "the budgets monitored, the fix rate with its denominators, referrals and their outcomes, the ten "
        "riskiest sites, data quality. `format=xlsx` (default) or `pdf`; `ETag` is the file's sha256."))
    @blp.doc(operationId="downloadMonthlyReport")
    def get(self, args):
        """Download a past month's regional report (XLSX or PDF)."""
        content, media_type, sha256 = services.monthly_report_file(**args)
        extension = "xlsx" if media_type != "application/pdf" else "pdf"
        response = Response(content, mimetype=media_type)
        response.headers["Content-Disposition"] = f'attachment; filename="report-{args["month"]}.{extension}"'
        response.set_etag(sha256)
        return response
