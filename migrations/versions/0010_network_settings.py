"""network settings (the quarterly communication test's schedule) and the quarters it ran in

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'network_settings',
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_network_settings')),
    )
    op.create_index('ix_deliveries_main_lane', 'deliveries', ['release_id'], unique=False,
                    postgresql_where=sa.text("lane = 'main'"), sqlite_where=sa.text("lane = 'main'"))
    op.create_table(
        'scheduled_test_runs',
        sa.Column('quarter', sa.String(length=7), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_scheduled_test_runs_alert_id_alerts'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('quarter', name=op.f('pk_scheduled_test_runs')),
    )


def downgrade() -> None:
    op.drop_table('scheduled_test_runs')
    op.drop_index('ix_deliveries_main_lane', table_name='deliveries')
    op.drop_table('network_settings')
