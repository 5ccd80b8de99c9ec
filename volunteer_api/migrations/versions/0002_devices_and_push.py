"""devices for push; push deliveries of alerts; sync tombstones

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 23:30:00

"""
from alembic import op
import sqlalchemy as sa

import volunteer_api.timestamps

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
OLD_CHANNELS = sa.Enum('email', 'webhook', name='alert_channel', native_enum=False, create_constraint=True)
NEW_CHANNELS = sa.Enum('email', 'webhook', 'web_push', 'fcm', name='alert_channel', native_enum=False,
                       create_constraint=True)


def upgrade():
    op.create_table('devices',
    sa.Column('id', BigId, nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('platform', sa.Enum('web', 'android', 'ios', name='device_platform', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('push', sa.JSON(), nullable=False),
    sa.Column('push_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_devices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('push_key', name=op.f('uq_devices_push_key'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index('ix_devices_user_id_id', ['user_id', 'id'], unique=False)

    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_id', BigId, nullable=True))
        batch_op.create_foreign_key(op.f('fk_alert_deliveries_device_id_devices'), 'devices', ['device_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.drop_constraint('uq_alert_deliveries_alert_id_channel', type_='unique')
        batch_op.create_unique_constraint(op.f('uq_alert_deliveries_alert_id_channel_device_id'),
                                          ['alert_id', 'channel', 'device_id'])
        batch_op.alter_column('channel', existing_type=OLD_CHANNELS, type_=NEW_CHANNELS, existing_nullable=False)

    op.create_table('site_departures',
    sa.Column('id', BigId, nullable=False),
    sa.Column('site_id', BigId, nullable=False),
    sa.Column('district', sa.String(length=32), nullable=False),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_departures'))
    )
    with op.batch_alter_table('site_departures', schema=None) as batch_op:
        batch_op.create_index('ix_site_departures_district_change_seq', ['district', 'change_seq'], unique=False)

    op.create_table('coverage_changes',
    sa.Column('id', BigId, nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('district', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_coverage_changes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coverage_changes'))
    )
    with op.batch_alter_table('coverage_changes', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_changes_user_id_id', ['user_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('coverage_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_coverage_changes_user_id_id')
    op.drop_table('coverage_changes')
    with op.batch_alter_table('site_departures', schema=None) as batch_op:
        batch_op.drop_index('ix_site_departures_district_change_seq')
    op.drop_table('site_departures')
    op.execute("DELETE FROM alert_deliveries WHERE channel IN ('web_push', 'fcm')")
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.alter_column('channel', existing_type=NEW_CHANNELS, type_=OLD_CHANNELS, existing_nullable=False)
        batch_op.drop_constraint('uq_alert_deliveries_alert_id_channel_device_id', type_='unique')
        batch_op.create_unique_constraint('uq_alert_deliveries_alert_id_channel', ['alert_id', 'channel'])
        batch_op.drop_constraint('fk_alert_deliveries_device_id_devices', type_='foreignkey')
        batch_op.drop_column('device_id')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index('ix_devices_user_id_id')
    op.drop_table('devices')
