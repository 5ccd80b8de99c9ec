from flask_smorest import Blueprint

blp = Blueprint("inspections", __name__, url_prefix="/api/v1", description="Inspections")
