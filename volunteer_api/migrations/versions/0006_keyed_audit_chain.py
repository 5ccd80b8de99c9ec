"""keyed audit chain: a writer's HMAC per event, refused events, signed checkpoints of the head

Events sealed before this revision keep their unkeyed SHA-256 links (verified as the chain's prefix).
Upgrade once the sealer has caught up (GET /api/v1/audit seals): an event still unsealed at the
upgrade has no mac, and the keyed sealer refuses it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:50:00

"""
from alembic import op
import sqlalchemy as sa

import volunteer_api.timestamps


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# As in 0001, with the mac part of the fixed content, and one more allowed change: an unsealed event
# may be marked refused (seal_refused from NULL), once.
AUDIT_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_events is append-only: DELETE refused' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.seq IS NOT NULL OR OLD.prev_hash IS NOT NULL OR OLD.hash IS NOT NULL OR OLD.seal_refused IS NOT NULL
       OR (NEW.seal_refused IS NOT NULL AND NEW.seq IS NOT NULL)
       OR (NEW.id, NEW.actor_id, NEW.action, NEW.object_type, NEW.object_id, NEW.before::text,
           NEW.after::text, NEW.request_id, NEW.address, NEW.created_at, NEW.mac)
          IS DISTINCT FROM
          (OLD.id, OLD.actor_id, OLD.action, OLD.object_type, OLD.object_id, OLD.before::text,
           OLD.after::text, OLD.request_id, OLD.address, OLD.created_at, OLD.mac) THEN
        RAISE EXCEPTION 'audit_events is append-only: only sealing an unsealed event is allowed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""
PREVIOUS_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_events is append-only: DELETE refused' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.seq IS NOT NULL OR OLD.prev_hash IS NOT NULL OR OLD.hash IS NOT NULL
       OR (NEW.id, NEW.actor_id, NEW.action, NEW.object_type, NEW.object_id, NEW.before::text,
           NEW.after::text, NEW.request_id, NEW.address, NEW.created_at)
          IS DISTINCT FROM
          (OLD.id, OLD.actor_id, OLD.action, OLD.object_type, OLD.object_id, OLD.before::text,
           OLD.after::text, OLD.request_id, OLD.address, OLD.created_at) THEN
        RAISE EXCEPTION 'audit_events is append-only: only sealing an unsealed event is allowed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('seal_refused', sa.String(length=32), nullable=True))
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('head_id', sa.String(length=20), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('event_count', sa.BigInteger(), nullable=False),
    sa.Column('created_at', volunteer_api.timestamps.UTCDateTime(timezone=True), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_checkpoints_seq'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(AUDIT_APPEND_ONLY_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PREVIOUS_FUNCTION)
    op.drop_table('audit_checkpoints')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('seal_refused')
        batch_op.drop_column('mac')
