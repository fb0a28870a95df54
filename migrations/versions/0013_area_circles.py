"""an area may hold CAP circles ("lat,lon radius_km") beside its polygons

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('areas') as batch:
        batch.add_column(sa.Column('circles', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('areas') as batch:
        batch.drop_column('circles')
