from flask_smorest import Blueprint

blp = Blueprint("sites", __name__, url_prefix="/api/v1", description="Sites")
