"""The volunteers' offline-first web app at /app/: static files only, served by the backend itself.

The page talks to the API like any phone (bearer tokens, /sync, client_uuid); a service worker keeps the
app shell so it opens with no network. Nothing here renders data: the app shares only the API with the console.
"""
import hashlib
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

from ..auth.access import public
from ..web import page_csp

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Files the service worker keeps for offline use; its cache is named after their combined hash, so a
# deployment that changes any of them installs a new worker and drops the old cache.
SHELL_FILES = ("index.html", "app.css", "manifest.webmanifest", "icons/icon-192.png", "icons/icon.svg",
               "js/main.js", "js/api.js", "js/db.js", "js/outbox.js", "js/sync.js", "js/i18n.js", "js/geo.js",
               "js/photos.js", "js/push.js", "js/views.js", "js/money.js")
VENDOR_SHELL_FILES = ("/static/vendor/idb.js",)
VENDOR_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor"
MEDIA_TYPES = {".webmanifest": "application/manifest+json", ".js": "text/javascript; charset=utf-8"}

blp = Blueprint("webapp", __name__, url_prefix="/app")


@cache
def shell_version() -> str:
    digest = hashlib.sha256()
    for name in SHELL_FILES:
        digest.update((STATIC_DIR / name).read_bytes())
    for url in VENDOR_SHELL_FILES:  # a new idb release is a new shell too
        vendored = VENDOR_DIR / url.removeprefix("/static/vendor/")
        if vendored.is_file():
            digest.update(vendored.read_bytes())
    return digest.hexdigest()[:16]


@blp.after_request
def app_headers(response: Response) -> Response:
    # The pages' policy: this origin only (scripts, the worker, the manifest), no inline script or style.
    response.headers["Content-Security-Policy"] = page_csp()
    # Revalidate (ETag) rather than keep: the service worker is the offline copy, not the HTTP cache.
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.get("/")
@public
def index():
    """The app's single page."""
    return send_from_directory(STATIC_DIR, "index.html")


@blp.get("/sw.js")
@public
def service_worker():
    """The service worker, with the shell's version and file list written in."""
    source = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    shell = ["/app/", *(f"/app/{name}" for name in SHELL_FILES if name != "index.html"), *VENDOR_SHELL_FILES]
    source = source.replace("__SHELL_VERSION__", shell_version()).replace(
        '"__SHELL_FILES__"', ", ".join(f'"{url}"' for url in shell))
    return Response(source, mimetype="text/javascript")


@blp.get("/<path:asset>")
@public
def static_file(asset):
    """A file of the app (scripts, styles, icons, the manifest)."""
    if asset == "sw.js" or not (STATIC_DIR / asset).is_file():
        abort(404)
    response = send_from_directory(STATIC_DIR, asset)
    suffix = Path(asset).suffix
    if suffix in MEDIA_TYPES:
        response.headers["Content-Type"] = MEDIA_TYPES[suffix]
    return response
