"""sync without a global lock: each synced row carries its writer's transaction id

Revision ID: 0009_sync_xid_stamps
Revises: 0008_name_search
Create Date: 2026-12-05 00:00:00

A change's position for /sync becomes (change_xid, change_seq) (see volunteer_api/change_numbers.py).
On PostgreSQL a trigger stamps change_xid with pg_current_xact_id() whenever a row is inserted or its
change_seq is set, so no write path can stamp one without the other. Rows already there keep
change_xid 0: their change numbers were handed out in commit order under the old lock, and cursors
given out before this migration (a bare change number n) mean (0, n).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_sync_xid_stamps'
down_revision = '0008_name_search'
branch_labels = None
depends_on = None

# (table, index on the old change number, its columns before the change number)
SYNCED = [
    ('sites', 'ix_sites_change_seq', 'ix_sites_change_position', []),
    ('inspections', 'ix_inspections_volunteer_change_seq', 'ix_inspections_volunteer_change_position',
     ['volunteer_id']),
    ('savings_reports', 'ix_savings_reports_volunteer_change_seq', 'ix_savings_reports_volunteer_change_position',
     ['volunteer_id']),
    ('site_departures', 'ix_site_departures_district_change_seq', 'ix_site_departures_district_change_position',
     ['district']),
]

STAMP_FUNCTION = """
CREATE OR REPLACE FUNCTION sync_stamp_change_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_xid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END
$$
"""


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.execute(STAMP_FUNCTION)
    for table, old_index, new_index, leading in SYNCED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('change_xid', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
            batch_op.drop_index(old_index)
            batch_op.create_index(new_index, [*leading, 'change_xid', 'change_seq'], unique=False)
        if postgres:
            op.execute(f"CREATE TRIGGER sync_stamp_change_xid BEFORE INSERT OR UPDATE OF change_seq ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION sync_stamp_change_xid()")


def downgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    for table, old_index, new_index, leading in reversed(SYNCED):
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS sync_stamp_change_xid ON {table}")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(new_index)
            batch_op.create_index(old_index, [*leading, 'change_seq'], unique=False)
            batch_op.drop_column('change_xid')
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS sync_stamp_change_xid()")
