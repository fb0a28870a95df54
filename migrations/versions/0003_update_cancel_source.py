"""update and cancel refer to their alert

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa



revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_alert_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_alerts_source_alert_id'), ['source_alert_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_alerts_source_alert_id_alerts'), 'alerts', ['source_alert_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alerts_source_alert_id_alerts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alerts_source_alert_id'))
        batch_op.drop_column('source_alert_id')

