"""SMS subscribers may have a location (a WGS84 point): a release reaches those inside its area

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscribers') as batch:
        batch.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch.add_column(sa.Column('longitude', sa.Float(), nullable=True))
    op.create_index('ix_subscribers_located', 'subscribers', ['centre_id', 'latitude', 'longitude'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_subscribers_located', table_name='subscribers')
    with op.batch_alter_table('subscribers') as batch:
        batch.drop_column('longitude')
        batch.drop_column('latitude')
