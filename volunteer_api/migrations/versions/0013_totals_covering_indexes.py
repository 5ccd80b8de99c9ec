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


def _recreate(now: bool) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, (columns, before, after) in INDEXES.items():
        op.drop_index(name, table_name='savings_reports')
        op.create_index(name, 'savings_reports', columns, unique=False, postgresql_include=after if now else before)
    op.execute("ANALYZE savings_reports")


def upgrade():
    _recreate(now=True)


def downgrade():
    _recreate(now=False)
