from flask.views import MethodView

from ..auth.access import roles
from ..pagination import page_schema
from ..schemas import ImportArgsSchema, ImportFileSchema
from ..security import Blueprint
from ..uploads import uploaded_file_bytes
from . import services
from .schemas import SiteCreateSchema, SiteImportResultSchema, SiteListArgsSchema, SiteSchema, SiteUpdateSchema

blp = Blueprint("sites", __name__, url_prefix="/api/v1", description="Sites")

EVERYONE = ("admin", "inspector", "volunteer")


@blp.route("/sites")
class Sites(MethodView):
    @roles(*EVERYONE)
    @blp.arguments(SiteListArgsSchema, location="query")
    @blp.response(200, page_schema(SiteSchema))
    @blp.doc(operationId="listSites")
    def get(self, args):
        """List sites, newest first; with near=lat,lon, those within radius_m, nearest first."""
        items, next_cursor = services.list_sites(**args)
        return {"items": items, "next_cursor": next_cursor}

    @roles("admin")
    @blp.arguments(SiteCreateSchema)
    @blp.response(201, SiteSchema)
    @blp.doc(operationId="registerSite")
    def post(self, data):
        """Register a site."""
        return services.create_site(**data)


@blp.route("/sites/import")
class SiteImport(MethodView):
    @roles("admin")
    @blp.arguments(ImportArgsSchema, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(201, SiteImportResultSchema)
    @blp.doc(operationId="importSites")
    def post(self, args, _files):
        """Register every site of a CSV, all or nothing.

        Header: name,kind,district,address,lat,lon,geofence_radius_m,budget_kzt,contractor,contract_number,planned_completion,status.
        """
        sites, valid_rows = services.import_sites(content=uploaded_file_bytes(), dry_run=args["dry_run"])
        return {"created": len(sites), "valid_rows": valid_rows, "dry_run": args["dry_run"], "sites": sites}


@blp.route("/sites/<id:site_id>")
class SiteById(MethodView):
    @roles(*EVERYONE)
    @blp.response(200, SiteSchema)
    @blp.doc(operationId="getSite")
    def get(self, site_id):
        """Read a site with its open flags and approved savings."""
        return services.get_site(site_id)

    @roles("admin")
    @blp.arguments(SiteUpdateSchema)
    @blp.response(200, SiteSchema)
    @blp.doc(operationId="updateSite")
    def patch(self, changes, site_id):
        """Change a site's fields."""
        return services.update_site(site_id, **changes)
