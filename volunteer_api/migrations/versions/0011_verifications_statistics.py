"""audit verifications (signed results of full and incremental verifications of the chain); the
totals' grouping statistics (PostgreSQL)

Revision ID: 0011_verifications_statistics
Revises: 0010_open_data_export
Create Date: 2026-12-05 00:00:00

"""
from alembic import op
import sqlalchemy as sa

import volunteer_api.timestamps


# revision identifiers, used by Alembic.
revision = '0011_verifications_statistics'
down_revision = '0010_open_data_export'
branch_labels = None
depends_on = None


# The full totals reconciliation groups savings_reports by (site_id, district) and by (category, approval
# month). Without these the planner guesses ~100,000 and ~280,000 groups (50,000 and ~70 in truth), finds
# partial aggregation by parallel workers pointless and aggregates in one process (savings/totals.py).
TOTALS_STATISTICS = {
    "st_savings_reports_site_district": "site_id, district",
    "st_savings_reports_category_month": "category, (date_trunc('month', reviewed_at AT TIME ZONE 'UTC'))",
}


def upgrade():
    op.create_table('audit_verifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('full', 'incremental', name='audit_verification_kind', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('status', sa.Enum('running', 'done', name='audit_verification_status', native_enum=False, create_constraint=True, length=7), nullable=False),
    sa.Column('from_seq', sa.BigInteger(), nullable=False),
    sa.Column('through_seq', sa.BigInteger(), nullable=True),
    sa.Column('head_id', sa.String(length=20), nullable=True),
    sa.Column('head_hash', sa.String(length=64), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('checked', sa.BigInteger(), nullable=True),
    sa.Column('first_broken_id', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('requested_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('started_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.Column('mac', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_audit_verifications_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_verifications'))
    )
    with op.batch_alter_table('audit_verifications', schema=None) as batch_op:
        batch_op.create_index('ix_audit_verifications_status_finished_at', ['status', 'finished_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        for name, columns in TOTALS_STATISTICS.items():
            op.execute(f"CREATE STATISTICS {name} (ndistinct) ON {columns} FROM savings_reports")
        op.execute("ANALYZE savings_reports")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for name in TOTALS_STATISTICS:
            op.execute(f"DROP STATISTICS IF EXISTS {name}")
    with op.batch_alter_table('audit_verifications', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_verifications_status_finished_at')
    op.drop_table('audit_verifications')
