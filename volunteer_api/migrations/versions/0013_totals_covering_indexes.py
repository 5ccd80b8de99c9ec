"""savings_reports: the indexes by site and by volunteer carry what the totals sum (PostgreSQL)

Revision ID: 0013_totals_covering_indexes
Revises: 0012_export_completion
Create Date: 2026-12-05 00:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_totals_covering_indexes'
down_revision = '0012_export_completion'
branch_labels = None
depends_on = None


# The full totals reconciliation (savings/totals.py) groups every live report by site and by volunteer.
# From the 253 MB heap (1,000,000 reports) each grouping was a sequential scan into a hash table of 50,000 or
# 10,000 groups; with the status and the amount in these indexes each is an index-only scan of ~54 MB already
# in group order (bench/README.md). The key columns stay, so the lists by site and by volunteer use them as
# before, and the targeted job's site and volunteer sums become index-only too. SQLite has no INCLUDE.
# name: (key columns, INCLUDE before, INCLUDE now)
INDEXES = {
    'ix_savings_reports_site_id_id': (['site_id', 'id'], [], ['status', 'amount_tiyn']),
    'ix_savings_reports_volunteer_id_id': (['volunteer_id', 'id'], [], ['status', 'amount_tiyn']),
}


# An index-only scan reads the heap page of every row changed since the table's last vacuum (the visibility
# map). By default autovacuum waits for 20 % of the rows to change (200,000 decisions at 1,000,000 reports);
# at 2 % the reconciliation's scans stay index-only between vacuums of a table this size.
AUTOVACUUM = "autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02"


def _recreate(now: bool) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, (columns, before, after) in INDEXES.items():
        op.drop_index(name, table_name='savings_reports')
        op.create_index(name, 'savings_reports', columns, unique=False, postgresql_include=after if now else before)
    if now:
        op.execute(f"ALTER TABLE savings_reports SET ({AUTOVACUUM})")
    else:
        op.execute("ALTER TABLE savings_reports RESET (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor)")
    op.execute("ANALYZE savings_reports")


def upgrade():
    _recreate(now=True)


def downgrade():
    _recreate(now=False)
