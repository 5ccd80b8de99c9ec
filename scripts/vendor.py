"""Copy the third-party browser files from node_modules/ (installed by `npm ci`) into the static vendor folder.

The folder (volunteer_api/static/vendor/, ignored by git) is what the console and the volunteers' app serve
under /static/vendor/; `vendor-manifest.json` beside the files lists each served file with its package,
the package's exact version (from package-lock.json) and the file's sha256. Run by scripts/bootstrap.
"""
import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "volunteer_api" / "static" / "vendor"

# served path -> (npm package, file inside the package)
FILES = {
    "htmx.min.js": ("htmx.org", "dist/htmx.min.js"),
    # The volunteers' app: IndexedDB with promises, an ES module (imported by the page and its service worker).
    "idb.js": ("idb", "build/index.js"),
    "alpine-csp.min.js": ("@alpinejs/csp", "dist/cdn.min.js"),
    "chart.umd.min.js": ("chart.js", "dist/chart.umd.min.js"),
    "leaflet/leaflet.js": ("leaflet", "dist/leaflet.js"),
    "leaflet/leaflet.css": ("leaflet", "dist/leaflet.css"),
    "leaflet/images/marker-icon.png": ("leaflet", "dist/images/marker-icon.png"),
    "leaflet/images/marker-icon-2x.png": ("leaflet", "dist/images/marker-icon-2x.png"),
    "leaflet/images/marker-shadow.png": ("leaflet", "dist/images/marker-shadow.png"),
    "leaflet/images/layers.png": ("leaflet", "dist/images/layers.png"),
    "leaflet/images/layers-2x.png": ("leaflet", "dist/images/layers-2x.png"),
    "leaflet.markercluster/leaflet.markercluster.js": ("leaflet.markercluster", "dist/leaflet.markercluster.js"),
    "leaflet.markercluster/MarkerCluster.css": ("leaflet.markercluster", "dist/MarkerCluster.css"),
    "leaflet.markercluster/MarkerCluster.Default.css": ("leaflet.markercluster", "dist/MarkerCluster.Default.css"),
}


def locked_versions() -> dict[str, str]:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    return {path.removeprefix("node_modules/"): entry["version"]
            for path, entry in lock["packages"].items() if path.startswith("node_modules/")}


def main() -> int:
    versions = locked_versions()
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    manifest = []
    for served, (package, inner) in FILES.items():
        source = NODE_MODULES / package / inner
        if not source.is_file():
            sys.exit(f"{source} is missing: run `npm ci` first")
        target = VENDOR / served
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        manifest.append({"path": served, "package": package, "version": versions[package],
                         "source": inner, "sha256": hashlib.sha256(target.read_bytes()).hexdigest()})
    (VENDOR / "vendor-manifest.json").write_text(json.dumps({"files": manifest}, indent=2) + "\n", encoding="utf-8")
    print(f"vendored {len(manifest)} files into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
