"""centres of the network: active flag, cell-broadcast language policy, acknowledgement deadline

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('centres') as batch:
        batch.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('cell_broadcast_languages', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('ack_deadline_minutes', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('centres') as batch:
        batch.drop_column('ack_deadline_minutes')
        batch.drop_column('cell_broadcast_languages')
        batch.drop_column('active')
