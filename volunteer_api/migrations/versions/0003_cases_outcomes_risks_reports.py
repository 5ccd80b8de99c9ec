"""cases, outcomes, site risks and monthly reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:44:55.374579

"""
from alembic import op
import sqlalchemy as sa

import volunteer_api.timestamps


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('monthly_reports',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('xlsx', sa.LargeBinary(), nullable=False),
    sa.Column('xlsx_sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('generated_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column('emailed_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_monthly_reports'))
    )
    op.create_table('outcome_days',
    sa.Column('district', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.Column('referred', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Integer(), nullable=False),
    sa.Column('fixed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('district', 'day', name=op.f('pk_outcome_days'))
    )
    op.create_table('outcome_fix_days',
    sa.Column('district', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('days_to_fix', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('district', 'day', 'days_to_fix', name=op.f('pk_outcome_fix_days'))
    )
    op.create_table('outcome_stamps',
    sa.Column('district', sa.String(length=32), nullable=False),
    sa.Column('computed_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('district', name=op.f('pk_outcome_stamps'))
    )
    op.create_table('site_risks',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('likelihood', sa.Integer(), nullable=False),
    sa.Column('impact', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('low', 'medium', 'high', 'critical', name='risk_level', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('factors', sa.JSON(), nullable=False),
    sa.Column('computed_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_risks_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_site_risks'))
    )
    with op.batch_alter_table('site_risks', schema=None) as batch_op:
        batch_op.create_index('ix_site_risks_level_site_id', ['level', 'site_id'], unique=False)
        batch_op.create_index('ix_site_risks_score_site_id', ['score', 'site_id'], unique=False)

    op.create_table('case_referrals',
    sa.Column('inspection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('channel', sa.Enum('call_centre_1424', 'eotinish', 'department', 'prosecutor', name='referral_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('case_number', sa.String(length=100), nullable=False),
    sa.Column('referred_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_case_referrals_inspection_id_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_case_referrals_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('inspection_id', name=op.f('pk_case_referrals'))
    )
    op.create_table('case_resolutions',
    sa.Column('inspection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('outcome', sa.Enum('fixed', 'not_fixed', 'unfounded', name='case_outcome', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('resolved_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_case_resolutions_inspection_id_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_case_resolutions_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('inspection_id', name=op.f('pk_case_resolutions'))
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.create_index('ix_inspections_confirmed_site_id', ['site_id'], unique=False, postgresql_where=sa.text("status = 'confirmed'"), sqlite_where=sa.text("status = 'confirmed'"))
        batch_op.create_index('ix_inspections_open_flags_site_id', ['site_id'], unique=False, postgresql_where=sa.text("flagged AND status = 'submitted'"), sqlite_where=sa.text("flagged AND status = 'submitted'"))
        batch_op.create_index('ix_inspections_status_district_reviewed_at', ['status', 'district', 'reviewed_at'], unique=False)



def downgrade():
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index('ix_inspections_status_district_reviewed_at')
        batch_op.drop_index('ix_inspections_open_flags_site_id', postgresql_where=sa.text("flagged AND status = 'submitted'"), sqlite_where=sa.text("flagged AND status = 'submitted'"))
        batch_op.drop_index('ix_inspections_confirmed_site_id', postgresql_where=sa.text("status = 'confirmed'"), sqlite_where=sa.text("status = 'confirmed'"))

    op.drop_table('case_resolutions')
    op.drop_table('case_referrals')
    with op.batch_alter_table('site_risks', schema=None) as batch_op:
        batch_op.drop_index('ix_site_risks_score_site_id')
        batch_op.drop_index('ix_site_risks_level_site_id')

    op.drop_table('site_risks')
    op.drop_table('outcome_stamps')
    op.drop_table('outcome_fix_days')
    op.drop_table('outcome_days')
    op.drop_table('monthly_reports')
