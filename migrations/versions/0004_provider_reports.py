"""status reports that overtook the commit of their message id

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'provider_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('provider_id', sa.String(length=100), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_reports')),
    )
    op.create_index(op.f('ix_provider_reports_provider_id'), 'provider_reports', ['provider_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_provider_reports_provider_id'), table_name='provider_reports')
    op.drop_table('provider_reports')
