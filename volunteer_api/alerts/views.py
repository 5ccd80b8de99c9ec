from . import services  # noqa: F401 - registers the alert job handlers
from flask_smorest import Blueprint

blp = Blueprint("alerts", __name__, url_prefix="/api/v1", description="Alerts")
