"""the review loop, photo times, forced password changes, refresh retries

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:30:00

"""
from alembic import op
import sqlalchemy as sa

import volunteer_api.timestamps


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OLD_INSPECTION_STATUSES = ('submitted', 'confirmed', 'dismissed')
NEW_INSPECTION_STATUSES = ('submitted', 'returned', 'confirmed', 'dismissed')
OLD_ALERT_KINDS = ('inspection_flagged', 'savings_pending', 'escalation', 'milestone')
NEW_ALERT_KINDS = OLD_ALERT_KINDS + ('inspection_returned', 'inspection_resubmitted')


OLD_OPEN_FLAGS = "flagged AND status = 'submitted'"
# A returned flag is still open: it waits for the volunteer, then for a decision.
NEW_OPEN_FLAGS = "flagged AND status IN ('submitted', 'returned')"


def _open_flags_index(batch_op, predicate):
    batch_op.create_index('ix_inspections_open_flags_site_id', ['site_id'], unique=False,
                          postgresql_where=sa.text(predicate), sqlite_where=sa.text(predicate))


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=max(map(len, values)))


def upgrade():
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resubmissions', sa.Integer(), server_default='0', nullable=False))
        batch_op.alter_column('status', existing_type=_enum(OLD_INSPECTION_STATUSES, 'inspection_status'),
                              type_=_enum(NEW_INSPECTION_STATUSES, 'inspection_status'), existing_nullable=False)
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=_enum(OLD_ALERT_KINDS, 'alert_kind'),
                              type_=_enum(NEW_ALERT_KINDS, 'alert_kind'), existing_nullable=False)
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exif_taken_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('photo_time_mismatch', sa.Boolean(), server_default='0', nullable=False))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default='0', nullable=False))
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_refresh_jti', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('rotated_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index('ix_inspections_open_flags_site_id')
        _open_flags_index(batch_op, NEW_OPEN_FLAGS)


def downgrade():
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index('ix_inspections_open_flags_site_id')
        _open_flags_index(batch_op, OLD_OPEN_FLAGS)
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_column('rotated_at')
        batch_op.drop_column('previous_refresh_jti')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_column('photo_time_mismatch')
        batch_op.drop_column('exif_taken_at')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=_enum(NEW_ALERT_KINDS, 'alert_kind'),
                              type_=_enum(OLD_ALERT_KINDS, 'alert_kind'), existing_nullable=False)
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=_enum(NEW_INSPECTION_STATUSES, 'inspection_status'),
                              type_=_enum(OLD_INSPECTION_STATUSES, 'inspection_status'), existing_nullable=False)
        batch_op.drop_column('resubmissions')
