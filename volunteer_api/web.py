"""What every page for people (the console, the volunteers' app) shares: the static files, the third-party
browser files and their manifest, and the page security policy.

Third-party files come from npm (package.json, exact versions, package-lock.json); `scripts/vendor.py`
copies them into static/vendor/ (ignored by git) with `vendor-manifest.json`, which lists each served
file's package, version and sha256. Nothing is loaded from another host: the pages work offline.
"""
import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, send_from_directory, url_for

from .auth.access import public

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_MANIFEST = STATIC_DIR / "vendor" / "vendor-manifest.json"

blp = Blueprint("web", __name__)
YEAR = 365 * 24 * 3600


@blp.get("/static/<path:filename>")
@public
def static(filename):
    """Serve a page's file (ours or a vendored one); URLs carry the file's hash, so it may be cached long."""
    return send_from_directory(STATIC_DIR, filename, max_age=YEAR)


def page_csp(*, img_hosts: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy of a page: only this origin, no inline script or style, no framing.

    `img_hosts` adds image origins (a configured map tile server).
    """
    images = " ".join(("'self'", "data:", "blob:", *img_hosts))
    return (f"default-src 'self'; img-src {images}; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")


@cache
def _manifest(path: Path) -> dict[str, dict]:
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: run scripts/bootstrap (npm ci, then scripts/vendor.py)")
    return {entry["path"]: entry for entry in json.loads(path.read_text(encoding="utf-8"))["files"]}


def vendor_files() -> dict[str, dict]:
    """The served third-party files: path -> {package, version, sha256}."""
    return _manifest(VENDOR_MANIFEST)


def vendor_url(path: str) -> str:
    """The URL of a vendored file, with its hash in the query so a new version is fetched anew."""
    return url_for("web.static", filename=f"vendor/{path}", v=vendor_files()[path]["sha256"][:12])


@cache
def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(filename: str) -> str:
    """The URL of one of our own static files (under static/), with its hash in the query."""
    return url_for("web.static", filename=filename, v=_file_hash(STATIC_DIR / filename))


def init_app(app: Flask) -> None:
    app.register_blueprint(blp)
    app.jinja_env.globals.update(vendor_url=vendor_url, static_url=static_url)
    if app.config.get("APP_ENV") != "testing":
        vendor_files()  # fail at start, not on the first page, when the set-up was skipped
