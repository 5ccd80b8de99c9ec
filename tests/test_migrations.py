from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import func, select

from volunteer_api.districts.models import District
from volunteer_api.extensions import db


def test_migrations_and_models_agree(app_ctx):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_upgrading_twice_changes_nothing(app_ctx):
    before = db.session.scalar(select(func.count()).select_from(District))
    upgrade()
    assert db.session.scalar(select(func.count()).select_from(District)) == before == 11
