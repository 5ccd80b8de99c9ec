"""Backups that have been restored: `flask backup` then `flask restore` into an empty database and store."""
import io
import json
import os
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text

from tests.conftest import BACKEND, PG_ADMIN_URL, PHOTO_BACKEND, photo_location
from tests.field_support import create_site, image_bytes, inspection_body
from tests.test_savings import saving_body
from volunteer_api.audit.checkpoints import anchor_chain
from volunteer_api.audit.services import seal_chain
from volunteer_api.cli import backup_command, restore_command
from volunteer_api.extensions import db
from volunteer_api.inspections.models import Inspection, Photo
from volunteer_api.inspections.photos import original_key
from volunteer_api.photo_storage import photo_storage
from volunteer_api.savings.models import SavingsReport, SavingsTotal
from volunteer_api.savings.totals import recompute_totals

API = "/api/v1"


@pytest.fixture
def empty_target(make_app, tmp_path, request):
    """A second app bound to a new, empty database and photo store (as on a new machine): a new folder, or
    a new prefix of the run's S3 bucket."""
    made = []

    def build():
        if BACKEND == "postgres":
            name = f"vm_restore_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            with create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT").connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        else:
            name, url = None, f"sqlite:///{tmp_path / f'restored-{uuid.uuid4().hex[:8]}.db'}"
        store = photo_location(PHOTO_BACKEND, request, tmp_path / f"store-{uuid.uuid4().hex[:8]}")
        application = make_app({"DATABASE_URL": url, **store})
        made.append((application, name))
        return application

    yield build
    for application, name in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        if name:
            with create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT").connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def service_with_data(app, client, admin, volunteer, inspector, photo_store, run_jobs):
    """A flagged inspection with two photos, an approved and a pending saving, a sealed and anchored chain."""
    site = create_site(client, admin)
    inspection = client.post(f"{API}/inspections", headers=volunteer.headers,
                             json=inspection_body(site["id"], severity="high")).get_json()
    photos = [image_bytes(color=(10, 200, 10)), image_bytes(fmt="PNG", color=(1, 2, 3))]
    photo_ids = []
    for data, name, kind in ((photos[0], "a.jpg", "image/jpeg"), (photos[1], "b.png", "image/png")):
        response = client.post(f"{API}/inspections/{inspection['id']}/photos", headers=volunteer.headers,
                               data={"file": (io.BytesIO(data), name, kind)}, content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
        photo_ids.append(response.get_json()["id"])
    approved = client.post(f"{API}/savings", headers=volunteer.headers,
                           json=saving_body(site["id"], amount_kzt="1234567.89")).get_json()
    client.post(f"{API}/savings", headers=volunteer.headers, json=saving_body(site["id"], amount_kzt="10.01"))
    assert client.post(f"{API}/savings/{approved['id']}/review", headers=inspector.headers,
                       json={"decision": "approved", "comment": "ok"}).status_code == 200
    run_jobs()
    with app.app_context():
        recompute_totals()
        db.session.commit()
        seal_chain()
        anchor_chain()
    return {"inspection": inspection, "photo_ids": photo_ids, "photos": photos, "admin": admin}


def test_a_backup_restored_into_an_empty_database_gives_everything_back(app, service_with_data, empty_target,
                                                                        tmp_path):
    backup_dir = tmp_path / "backup"
    result = app.test_cli_runner().invoke(backup_command, ["--to", str(backup_dir)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["photos"] == 2 and manifest["backend"] == ("postgresql" if BACKEND == "postgres" else "sqlite")
    assert len(manifest["files"]) == 3 and all(len(digest) == 64 for digest in manifest["files"].values())

    restored = empty_target()
    result = restored.test_cli_runner().invoke(restore_command, ["--from", str(backup_dir)])
    assert result.exit_code == 0, result.output
    assert "audit chain: ok" in result.output and "photos: 2 of 2 match" in result.output
    assert "totals: equal to a recompute" in result.output and "Restored." in result.output

    with app.app_context():
        original = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                    for model in (Inspection, Photo, SavingsReport, SavingsTotal)}
    with restored.app_context():
        assert {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Inspection, Photo, SavingsReport, SavingsTotal)} == original
    # The restored service answers as the old one did: the same sign-in, the same photo bytes, a verified chain.
    client = restored.test_client()
    admin = service_with_data["admin"]
    with restored.app_context():
        stored = {row.id: photo_storage().open(original_key(row.sha256)).file.read()
                  for row in db.session.scalars(select(Photo))}
    assert sorted(stored.values()) == sorted(service_with_data["photos"])
    verification = client.get(f"{API}/audit/verify", headers=admin.headers).get_json()
    assert verification["ok"] is True and verification["checked"] > 5
    totals = client.get(f"{API}/savings/totals", headers=admin.headers).get_json()
    assert (totals["approved_kzt"], totals["pending_kzt"]) == ("1234567.89", "10.01")

    # Restoring again over the restored (no longer empty) database is refused and changes nothing.
    again = restored.test_cli_runner().invoke(restore_command, ["--from", str(backup_dir)])
    assert again.exit_code == 1 and "not empty" in again.output


def test_a_damaged_or_unfinished_backup_is_refused(app, service_with_data, empty_target, tmp_path):
    backup_dir = tmp_path / "backup"
    assert app.test_cli_runner().invoke(backup_command, ["--to", str(backup_dir)]).exit_code == 0
    # A backup never overwrites another.
    refused = app.test_cli_runner().invoke(backup_command, ["--to", str(backup_dir)])
    assert refused.exit_code == 1 and "not empty" in refused.output
    photo = next(path for path in (backup_dir / "photos").rglob("*") if path.is_file())
    photo.write_bytes(photo.read_bytes()[:-1] + b"\0")
    restored = empty_target()
    result = restored.test_cli_runner().invoke(restore_command, ["--from", str(backup_dir)])
    assert result.exit_code == 1 and "does not match the manifest" in result.output
    with restored.app_context():
        assert db.inspect(db.engine).get_table_names() == []
