"""open data export: the OC4IDS export the workers make, kept in chunks the public endpoint streams

Revision ID: 0010_open_data_export
Revises: 0009_sync_xid_stamps
Create Date: 2026-12-05 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_open_data_export'
down_revision = '0009_sync_xid_stamps'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('open_data_exports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_open_data_exports'))
    )
    op.create_table('open_data_export_chunks',
    sa.Column('export_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['open_data_exports.id'], name=op.f('fk_open_data_export_chunks_export_id_open_data_exports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('export_id', 'seq', name=op.f('pk_open_data_export_chunks'))
    )


def downgrade():
    op.drop_table('open_data_export_chunks')
    op.drop_table('open_data_exports')
