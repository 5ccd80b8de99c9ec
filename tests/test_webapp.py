"""The volunteers' app as the server delivers it: the shell, the service worker with its cache list, the manifest."""
import json
import re

from volunteer_api.webapp.views import SHELL_FILES, STATIC_DIR


def test_the_app_page_loads_its_script_as_a_module_under_a_policy_without_inline_script(client):
    response = client.get("/app/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'self';") and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    page = response.get_data(as_text=True)
    assert '<script type="module" src="/app/js/main.js"></script>' in page
    assert re.search(r"<script>(?!</script>)", page) is None  # no inline script anywhere
    assert 'rel="manifest"' in page and 'lang="ru"' in page


def test_the_service_worker_caches_every_shell_file_under_the_shells_version(client):
    worker = client.get("/app/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    source = worker.get_data(as_text=True)
    assert "__SHELL_VERSION__" not in source and "__SHELL_FILES__" not in source
    listed = json.loads("[" + re.search(r"const SHELL = \[(.*)\];", source).group(1) + "]")
    assert listed[0] == "/app/" and "/static/vendor/idb.js" in listed
    for url in listed:
        if url.startswith("/app/") and url != "/app/":
            assert client.get(url).status_code == 200, url
    assert {f"/app/{name}" for name in SHELL_FILES if name != "index.html"} <= set(listed)
    # Every module the app imports is in the shell: offline, nothing else can load.
    imported = set()
    for script in (STATIC_DIR / "js").glob("*.js"):
        imported |= {f"/app/js/{name}" for name in re.findall(r'from "\./(\w+\.js)"', script.read_text())}
    assert imported <= set(listed)


def test_the_manifest_is_served_as_a_manifest_and_unknown_files_are_404(client):
    manifest = client.get("/app/manifest.webmanifest")
    assert manifest.headers["Content-Type"] == "application/manifest+json"
    assert json.loads(manifest.get_data())["display"] == "standalone"
    assert client.get("/app/js/main.js").headers["Content-Type"].startswith("text/javascript")
    assert client.get("/app/nothing-here.js").status_code == 404
    assert client.get("/app/../config/__init__.py").status_code == 404
