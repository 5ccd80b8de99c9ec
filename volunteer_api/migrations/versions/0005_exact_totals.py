"""exact totals: summed tiyn as NUMERIC (PostgreSQL) or zero-padded digits (SQLite), never BIGINT

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:30:00

"""
from alembic import op
import sqlalchemy as sa

import volunteer_api.money


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

COLUMNS = {"savings_totals": ("approved_tiyn", "pending_tiyn"), "savings_milestones": ("threshold_tiyn", "total_tiyn")}


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=sa.BigInteger(), existing_nullable=False,
                                      type_=volunteer_api.money.ExactTiyn(),
                                      postgresql_using=f"{column}::numeric")
        if sqlite:
            # The copied integers became text digits; pad them so the stored text orders as numbers.
            width = volunteer_api.money.ExactTiyn.SQLITE_DIGITS
            op.execute(f"UPDATE {table} SET " + ", ".join(
                f"{column} = printf('%0{width}d', CAST({column} AS INTEGER))" for column in columns))


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in COLUMNS.items():
        if sqlite:
            op.execute(f"UPDATE {table} SET " + ", ".join(f"{column} = CAST({column} AS INTEGER)" for column in columns))
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=volunteer_api.money.ExactTiyn(), existing_nullable=False,
                                      type_=sa.BigInteger(), postgresql_using=f"{column}::bigint")
