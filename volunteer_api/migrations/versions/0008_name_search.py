"""name search: users.search_name (the casefolded name), trigram-indexed on PostgreSQL

SQLite's lower() and LIKE fold only ASCII letters, so a search for "айгерим" missed "Айгерим". The name is
stored casefolded (people.models.fold_name) and compared with LIKE on both backends; on PostgreSQL a
pg_trgm GIN index serves `LIKE '%part%'` (a trusted extension: the database owner may create it).

Revision ID: 0008_name_search
Revises: 0007
Create Date: 2026-12-05 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_name_search'
down_revision = '0007'
branch_labels = None
depends_on = None

BATCH = 1000


def _fold_name(text: str) -> str:
    # people.models.fold_name as of this revision (a migration must not change when the model does).
    return " ".join(text.casefold().replace("ё", "е").split())


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_name', sa.String(length=400), server_default='', nullable=False))
    users = sa.table('users', sa.column('id', sa.BigInteger()), sa.column('full_name', sa.String()),
                     sa.column('search_name', sa.String()))
    connection = op.get_bind()
    last_id = 0
    while True:  # keyset batches: never the whole table in memory
        rows = connection.execute(sa.select(users.c.id, users.c.full_name).where(users.c.id > last_id)
                                  .order_by(users.c.id).limit(BATCH)).all()
        if not rows:
            break
        connection.execute(users.update().where(users.c.id == sa.bindparam('user_id'))
                           .values(search_name=sa.bindparam('folded')),
                           [{'user_id': row.id, 'folded': _fold_name(row.full_name or '')} for row in rows])
        last_id = rows[-1].id
    if connection.dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_search_name', ['search_name'], unique=False, postgresql_using='gin',
                              postgresql_ops={'search_name': 'gin_trgm_ops'})


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_search_name', postgresql_using='gin')
        batch_op.drop_column('search_name')
