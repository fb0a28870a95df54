"""the ledger in lanes (sms, main), staged at scheduling: no per-row foreign-key triggers on the ledger; each
centre's consent to its public channels in a release

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lane', sa.String(length=8), nullable=False, server_default='main'))
        batch_op.drop_constraint('fk_deliveries_payload_id_payloads', type_='foreignkey')
        batch_op.drop_constraint('fk_deliveries_release_id_releases', type_='foreignkey')
        batch_op.drop_index('ix_deliveries_due')
        batch_op.create_index('ix_deliveries_lane_due', ['lane', 'state', 'next_attempt_at'], unique=False)
    op.execute("UPDATE deliveries SET lane = 'sms' WHERE channel = 'sms'")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.alter_column('lane', server_default=None)
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consents', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.alter_column('consents', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_column('consents')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_lane_due')
        batch_op.create_index('ix_deliveries_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_foreign_key('fk_deliveries_release_id_releases', 'releases', ['release_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_foreign_key('fk_deliveries_payload_id_payloads', 'payloads', ['payload_id'], ['id'])
        batch_op.drop_column('lane')
