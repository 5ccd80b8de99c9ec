"""daily quotas: usage per account, Almaty day and kind

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('daily_usage',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('inspections', 'savings', 'photo_bytes', name='quota_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_daily_usage_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'day', 'kind', name=op.f('pk_daily_usage'))
    )
    with op.batch_alter_table('daily_usage', schema=None) as batch_op:
        batch_op.create_index('ix_daily_usage_day', ['day'], unique=False)


def downgrade():
    with op.batch_alter_table('daily_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_daily_usage_day')
    op.drop_table('daily_usage')
