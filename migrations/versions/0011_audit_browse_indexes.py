"""indexes for browsing the audit chain by object (an alert's events) and by actor

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_events_object', 'audit_events', ['object_type', 'object_id'], unique=False)
    op.create_index('ix_audit_events_actor', 'audit_events', ['actor'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_events_actor', table_name='audit_events')
    op.drop_index('ix_audit_events_object', table_name='audit_events')
