"""Open data: the OC4IDS export passes the standard's own review tool offline; the public summary and page
need no sign-in and name nobody."""
import hashlib
import json
import os
from datetime import datetime
from email.utils import parsedate_to_datetime
import threading
import time
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.alert_helpers import free_port
from tests.conftest import PROJECT_ROOT
from tests.field_support import create_site, file_inspection
from tests.test_cases import confirmed_case, resolve
from tests.test_reports import file_saving
from tests.test_summaries import counted_statements
from volunteer_api.extensions import db
from volunteer_api.change_numbers import HORIZON_WAIT_SECONDS
from volunteer_api.savings.totals import recompute_totals
from volunteer_api.timestamps import utcnow

V1 = "/api/v1"


def sync_page(client, account, cursor=None) -> dict:
    response = client.get(f"{V1}/sync", headers=account.headers, query_string={"since": cursor} if cursor else {})
    assert response.status_code == 200, response.get_json()
    return response.get_json()

STANDARD_HOST = "https://standard.open-contracting.org/infrastructure/schema/0__9__5/"
# The OC4IDS 0.9.5 schema and codelists (Apache-2.0, from open-contracting/infrastructure) are data kept
# beside the repository, in the shared folder, not in it.
SCHEMA_DIR = Path(os.environ.get("OC4IDS_SCHEMA_DIR") or PROJECT_ROOT.parent / "shared" / "oc4ids" / "0.9.5")


@pytest.fixture
def monitored(app, client, admin, volunteer, inspector, run_jobs):
    """Sites with inspections, a fixed case and approved savings; the workers' totals recomputed."""
    school = create_site(client, admin, contractor="Kurylys LLP")
    create_site(client, admin, name="Road to Merke", kind="road", district="merke", contractor=None,
                location={"lat": 42.87, "lon": 73.18}, address=None)
    case = confirmed_case(client, volunteer, inspector, school["id"])
    confirmed_case(client, volunteer, inspector, school["id"])
    assert resolve(client, inspector, case["id"]).status_code == 200
    file_inspection(client, volunteer, school["id"])
    saving = file_saving(client, volunteer, school["id"], "250000.55")
    client.post(f"{V1}/savings/{saving['id']}/review", headers=inspector.headers,
                json={"decision": "approved", "comment": "Checked."})
    run_jobs(lambda: client.get(f"{V1}/outcomes", headers=inspector.headers).get_json()["resolved"] == 1)
    with app.app_context():
        recompute_totals()
        db.session.commit()
    return school


@pytest.fixture
def exported(app, monitored):
    """The workers' sweep has made the export of the monitored sites."""
    from volunteer_api.open_data.oc4ids import make_oc4ids_export

    with app.app_context():
        make_oc4ids_export()
    return monitored


def personal_data(app) -> list[str]:
    """Every name, phone, e-mail and badge of the people in the database."""
    from volunteer_api.people.models import User

    with app.app_context():
        people = db.session.scalars(db.select(User)).all()
        return [value for user in people for value in (user.full_name, user.phone, user.email, user.badge_number)
                if value]


class _StandardFiles(SimpleHTTPRequestHandler):
    """The schema folder over loopback HTTP, its $refs to the standard's site pointed at this server."""

    local_base = ""

    def do_GET(self):  # noqa: N802
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        if path.suffix == ".json":
            body = body.replace(STANDARD_HOST.encode(), self.local_base.encode())
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if path.suffix == ".json" else "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def standard_server():
    if not (SCHEMA_DIR / "project-package-schema.json").is_file():
        pytest.skip(f"the OC4IDS 0.9.5 schema is not at {SCHEMA_DIR} (set OC4IDS_SCHEMA_DIR)")
    port = free_port()
    handler = type("Handler", (_StandardFiles,), {"local_base": f"http://127.0.0.1:{port}/"})
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(SCHEMA_DIR)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/"
    server.shutdown()
    server.server_close()


def test_the_oc4ids_export_passes_the_data_review_tool_offline(app, client, exported, standard_server):
    from libcoveoc4ids.api import oc4ids_json_output
    from libcoveoc4ids.config import LibCoveOC4IDSConfig

    response = client.get(f"{V1}/open-data/oc4ids.json")
    assert response.status_code == 200 and response.is_streamed
    package = json.loads(response.get_data(as_text=True))
    config = LibCoveOC4IDSConfig({"schema_host": standard_server,
                                  "schema_version_choices": {"0.9.5": ("0.9.5", standard_server)},
                                  "schema_codelists": {"0.9": f"{standard_server}codelists/"}})
    result = oc4ids_json_output(json_data=package, lib_cove_oc4ids_config=config)
    assert result["validation_errors"] == []
    assert result["additional_closed_codelist_values"] == {}
    # metricID is an open codelist: our own metrics (approvedSavings, inspections) are allowed new codes.
    assert set(result["additional_open_codelist_values"]) <= {"projects/metrics/id"}
    assert len(package["projects"]) == 2


def test_the_export_carries_each_sites_project_and_no_personal_data(app, client, exported):
    monitored = exported
    response = client.get(f"{V1}/open-data/oc4ids.json")
    text = response.get_data(as_text=True)
    assert response.headers["Cache-Control"].startswith("public")
    package = json.loads(text)
    school = next(p for p in package["projects"] if p["identifiers"][0]["id"] == monitored["id"])
    assert school["id"] == f"oc4ids-vmzhmb-{monitored['id']}"
    assert (school["title"], school["status"], school["type"], school["sector"]) == (
        "School No. 7", "implementation", "construction", ["education"])
    assert school["budget"] == {"amount": {"amount": 1250000000.55, "currency": "KZT"}}
    assert '"amount":1250000000.55,' in text  # the exact decimal, as written
    assert school["locations"][0]["geometry"] == {"type": "Point", "coordinates": [71.3667, 42.9]}
    assert school["parties"][0]["name"] == "Kurylys LLP" and school["parties"][0]["roles"] == ["supplier"]
    metrics = {metric["id"]: metric["observations"] for metric in school["metrics"]}
    assert metrics["approvedSavings"][0]["value"] == {"amount": 250000.55, "currency": "KZT"}
    assert {o["id"]: o["measure"] for o in metrics["inspections"]} == {"filed": 3, "confirmed": 2}
    road = next(p for p in package["projects"] if p is not school)
    assert road["sector"] == ["transport", "transport.road"] and "parties" not in road
    for value in personal_data(app):
        assert value not in text, value


def test_the_export_is_made_by_the_workers_and_streamed_as_made(app, client, admin, exported):
    from volunteer_api.open_data.oc4ids import make_oc4ids_export

    first = client.get(f"{V1}/open-data/oc4ids.json")
    assert first.status_code == 200 and first.is_streamed
    package = json.loads(first.get_data(as_text=True))
    etag, made = first.headers["ETag"], first.headers["Last-Modified"]
    assert len(package["projects"]) == 2 and int(first.headers["Content-Length"]) == len(first.get_data())
    assert etag == f'"{hashlib.sha256(first.get_data()).hexdigest()}"'
    assert parsedate_to_datetime(made) == datetime.fromisoformat(package["publishedDate"]).replace(microsecond=0)
    assert client.get(f"{V1}/open-data/oc4ids.json", headers={"If-None-Match": etag}).status_code == 304
    create_site(client, admin, name="School No. 10")
    assert client.get(f"{V1}/open-data/oc4ids.json").headers["ETag"] == etag  # the kept export until the next

    with app.app_context():
        make_oc4ids_export()  # the workers' sweep
    fresh = client.get(f"{V1}/open-data/oc4ids.json", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    assert len(json.loads(fresh.get_data(as_text=True))["projects"]) == 3
    assert client.get(f"{V1}/open-data/oc4ids.json", headers={"If-None-Match": fresh.headers["ETag"]}
                      ).status_code == 304


def _export_ids(app) -> list[tuple[int, bool]]:
    from volunteer_api.open_data.models import OpenDataExport

    with app.app_context():
        return [(row.id, row.completed_at is not None)
                for row in db.session.scalars(db.select(OpenDataExport).order_by(OpenDataExport.id))]


def _age_export(app, export_id: int, *, minutes: int) -> None:
    """Move an export's times back, as if made (and completed) that long ago."""
    from volunteer_api.open_data.models import OpenDataExport

    with app.app_context():
        export = db.session.get(OpenDataExport, export_id)
        export.made_at -= timedelta(minutes=minutes)
        if export.completed_at is not None:
            export.completed_at -= timedelta(minutes=minutes)
        db.session.commit()


def test_a_replaced_export_is_kept_while_a_download_that_began_on_it_may_still_read_it(app, client, exported):
    from volunteer_api.open_data.oc4ids import SUPERSEDED_KEPT_FOR, make_oc4ids_export

    [(first, _)] = _export_ids(app)
    download = client.get(f"{V1}/open-data/oc4ids.json")  # began on the first export, read below
    with app.app_context():
        second = make_oc4ids_export()
        third = make_oc4ids_export()  # the first was replaced just now: kept
    assert [export for export, _ in _export_ids(app)] == [first, second, third]
    assert json.loads(download.get_data(as_text=True))["projects"]  # read whole after two builds

    minutes = int(SUPERSEDED_KEPT_FOR.total_seconds() // 60) + 1
    for export in (first, second):
        _age_export(app, export, minutes=minutes)
    with app.app_context():
        fourth = make_oc4ids_export()
    # The first was replaced (by the second) long enough ago; the second only now by the third.
    assert [export for export, _ in _export_ids(app)] == [second, third, fourth]


def test_a_build_that_died_leaves_nothing_served_and_the_next_build_deletes_it(app, client, exported):
    from volunteer_api.open_data.models import OpenDataExport, OpenDataExportChunk
    from volunteer_api.open_data.oc4ids import BUILD_ABANDONED_AFTER, make_oc4ids_export

    etag = client.get(f"{V1}/open-data/oc4ids.json").headers["ETag"]
    with app.app_context():
        dead = OpenDataExport(made_at=utcnow(), sha256="", size_bytes=0)
        db.session.add(dead)
        db.session.flush()
        db.session.add(OpenDataExportChunk(export_id=dead.id, seq=0, data=b'{"half'))
        db.session.commit()
        dead_id = dead.id
    assert client.get(f"{V1}/open-data/oc4ids.json").headers["ETag"] == etag  # the unfinished one is not served
    with app.app_context():
        make_oc4ids_export()  # it may still be under way: kept
    assert (dead_id, False) in _export_ids(app)
    _age_export(app, dead_id, minutes=int(BUILD_ABANDONED_AFTER.total_seconds() // 60) + 1)
    with app.app_context():
        make_oc4ids_export()
        assert db.session.scalar(db.select(db.func.count()).select_from(OpenDataExportChunk)
                                 .where(OpenDataExportChunk.export_id == dead_id)) == 0
    assert all(complete for _, complete in _export_ids(app))


def test_a_build_that_fails_deletes_its_unfinished_export(app, client, monitored, monkeypatch):
    from volunteer_api.open_data import oc4ids

    def failing(*, published_at=None):
        yield b"{"
        raise RuntimeError("the database went away mid-build")

    monkeypatch.setattr(oc4ids, "stream_project_package", failing)
    with app.app_context(), pytest.raises(RuntimeError):
        oc4ids.make_oc4ids_export()
    assert _export_ids(app) == []


def test_a_new_installations_first_requests_get_the_package_made_now_and_queue_one_build(app, client, monitored,
                                                                                       run_jobs):
    from volunteer_api.jobs import OutboxJob, names

    def queued(*statuses) -> int:
        with app.app_context():
            return db.session.scalar(db.select(db.func.count()).select_from(OutboxJob).where(
                OutboxJob.name == names.MAKE_FIRST_OC4IDS_EXPORT, *([OutboxJob.status.in_(statuses)] if statuses else [])))

    for number in range(3):  # each streamed answer read before the next request (it holds its request context)
        answer = client.get(f"{V1}/open-data/oc4ids.json")
        assert answer.status_code == 200 and answer.mimetype == "application/json"
        assert len(json.loads(answer.get_data(as_text=True))["projects"]) == 2
        if number == 0:  # made now; the next ones may already find the first build stored (embedded mode)
            assert "ETag" not in answer.headers and answer.headers["Cache-Control"] == "no-cache"
    # Queued by the first request; a later one may queue another while the first build's commits are not in
    # its snapshot yet (embedded SQLite), and that job finds the export made and builds nothing.
    assert 1 <= queued() <= 3
    run_jobs(lambda: "ETag" in client.get(f"{V1}/open-data/oc4ids.json").headers)
    ready = client.get(f"{V1}/open-data/oc4ids.json")
    assert ready.status_code == 200 and len(json.loads(ready.get_data(as_text=True))["projects"]) == 2
    run_jobs(lambda: queued("pending") == 0)
    assert len(_export_ids(app)) == 1  # one export built, however many asked


def test_the_build_holds_no_transaction_open_so_sync_answers_a_change_made_during_it(app, client, monitored,
                                                                                    volunteer, monkeypatch):
    """/sync answers only below the oldest running transaction id: a build holding one for its seconds would
    hold every phone's sync back. Here the build pauses between two parts while a change is made and synced."""
    from volunteer_api.open_data import oc4ids

    monkeypatch.setattr(oc4ids, "BATCH", 1)  # two sites, two parts
    original, paused, resume = oc4ids.project_batches, threading.Event(), threading.Event()
    held_ids = []

    def pausing(*, batch_size):
        for number, rows in enumerate(original(batch_size=batch_size)):
            if db.session.get_bind().dialect.name == "postgresql":
                held_ids.append(db.session.scalar(text("SELECT pg_current_xact_id_if_assigned()::text")))
            if number == 1:
                paused.set()
                resume.wait(10)
            yield rows

    monkeypatch.setattr(oc4ids, "project_batches", pausing)
    cursor = sync_page(client, volunteer)["next_cursor"]
    errors = []

    def build():
        try:
            with app.app_context():
                oc4ids.make_oc4ids_export()
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    builder = threading.Thread(target=build)
    builder.start()
    try:
        assert paused.wait(10)
        filed = file_inspection(client, volunteer, monitored["id"])  # committed while the build is under way
        started = time.monotonic()
        page = sync_page(client, volunteer, cursor)
        took = time.monotonic() - started
        assert [item["id"] for item in page["inspections"]] == [filed["id"]]
        assert took < HORIZON_WAIT_SECONDS, took  # not even the horizon's wait for older writers
    finally:
        resume.set()
        builder.join(10)
    assert not errors and not builder.is_alive()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            assert len(held_ids) == 2 and set(held_ids) == {None}  # no transaction id held while reading sites


def test_making_the_export_costs_one_statement_per_batch_however_many_sites(app, client, admin, monkeypatch,
                                                                             monitored):
    from volunteer_api.open_data import oc4ids

    # Builds seconds apart: no export was replaced long enough ago to be deleted, the same statements each time.

    def statements() -> int:
        with app.app_context(), counted_statements(app) as sent:
            oc4ids.make_oc4ids_export()
        return len(sent)

    two_sites = statements()
    for number in range(3):
        create_site(client, admin, name=f"School No. {10 + number}")
    assert statements() == two_sites  # no statement per site
    monkeypatch.setattr(oc4ids, "BATCH", 2)
    # Five sites in three batches and the empty one instead of one and it: per batch a query and its part.
    assert statements() == two_sites + 2 * 2


def test_the_public_summary_needs_no_sign_in_and_gives_the_fix_rate_with_its_denominators(app, client, admin,
                                                                                        monitored):
    response = client.get(f"{V1}/public/summary")
    assert response.status_code == 200
    summary = response.get_json()
    totals = client.get(f"{V1}/savings/totals", headers=admin.headers).get_json()
    assert (summary["approved_kzt"], summary["approved_count"]) == (totals["approved_kzt"], totals["approved_count"])
    assert (summary["sites_monitored"], summary["inspections"]) == (2, 3)
    assert (summary["confirmed"], summary["fixed"], summary["fix_rate"]) == (2, 1, "0.50")
    taraz = next(row for row in summary["by_district"] if row["district"] == "taraz")
    assert (taraz["approved_kzt"], taraz["fix_rate"], taraz["inspections"]) == ("250000.55", "0.50", 3)
    assert next(row for row in summary["by_district"] if row["district"] == "merke")["fix_rate"] is None
    assert summary["as_of"] is not None
    for value in personal_data(app):
        assert value not in response.get_data(as_text=True)


def test_the_summary_is_cached(app, client, monkeypatch, admin, volunteer):
    first = client.get(f"{V1}/public/summary").get_json()  # computed now (the tests' maximum age is 0)
    monkeypatch.setitem(app.config, "PUBLIC_CACHE_SECONDS", 3600)
    create_site(client, admin)
    assert client.get(f"{V1}/public/summary").get_json() == first
    cached = client.get(f"{V1}/public/summary")
    assert cached.headers["Cache-Control"] == "public, max-age=3600"
    assert client.get(f"{V1}/public/summary", headers={"If-None-Match": cached.headers["ETag"]}).status_code == 304
    monkeypatch.setitem(app.config, "PUBLIC_CACHE_SECONDS", 0)
    assert client.get(f"{V1}/public/summary").get_json()["sites_monitored"] == first["sites_monitored"] + 1


@pytest.mark.parametrize("language,words", [("ru", "Доля устранённых нарушений"), ("kk", "Жойылған бұзушылықтар үлесі"),
                                            ("en", "Share of violations fixed")])
def test_the_transparency_page_in_each_language_with_server_drawn_charts(app, client, monitored, language, words):
    response = client.get(f"/transparency?lang={language}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in html and words in html
    assert "<svg" in html and 'role="img"' in html and "<script" not in html
    # Amounts and shares the way the language writes them: 250 000,55 ₸ and 50 % (ru), 250,000.55 ₸ and 50% (en).
    amount, share = {"en": ("250,000.55\u00a0₸", "50%"), "kk": ("250\u00a0000,55\u00a0₸", "50%")}.get(
        language, ("250\u00a0000,55\u00a0₸", "50\u00a0%"))
    assert amount in html and share in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["ETag"] and response.headers["Cache-Control"].startswith("public")
    for value in personal_data(app):
        assert value not in html
    by_header = client.get("/transparency", headers={"Accept-Language": "kk"}).get_data(as_text=True)
    assert '<html lang="kk">' in by_header
