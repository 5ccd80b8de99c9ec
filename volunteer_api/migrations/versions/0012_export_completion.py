"""export completion: an OC4IDS export is built in short committed batches and served once completed_at is set

Revision ID: 0012_export_completion
Revises: 0011_verifications_statistics
Create Date: 2026-12-05 00:00:00

"""
from alembic import op
import sqlalchemy as sa

import volunteer_api.timestamps


# revision identifiers, used by Alembic.
revision = '0012_export_completion'
down_revision = '0011_verifications_statistics'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('open_data_exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('completed_at', volunteer_api.timestamps.UTCDateTime(timezone=True),
                                      nullable=True))
    # The exports made before were built in one transaction: each was complete when it became visible.
    op.execute("UPDATE open_data_exports SET completed_at = made_at")


def downgrade():
    # The build before this revision made its export visible only whole: an unfinished one would be served.
    op.execute("DELETE FROM open_data_export_chunks WHERE export_id IN"
               " (SELECT id FROM open_data_exports WHERE completed_at IS NULL)")
    op.execute("DELETE FROM open_data_exports WHERE completed_at IS NULL")
    with op.batch_alter_table('open_data_exports', schema=None) as batch_op:
        batch_op.drop_column('completed_at')
