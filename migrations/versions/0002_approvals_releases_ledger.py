"""approvals, releases and the delivery ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa



revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('partner_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secrets', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['centres.id'], name=op.f('fk_partner_endpoints_centre_id_centres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_endpoints'))
    )
    with op.batch_alter_table('partner_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_endpoints_centre_id'), ['centre_id'], unique=False)

    op.create_table('subscribers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['centre_id'], ['centres.id'], name=op.f('fk_subscribers_centre_id_centres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscribers')),
    sa.UniqueConstraint('centre_id', 'phone', name='uq_subscribers_phone')
    )
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscribers_centre_id'), ['centre_id'], unique=False)

    op.create_table('subscriber_areas',
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_subscriber_areas_subscriber_id_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subscriber_id', 'place', name=op.f('pk_subscriber_areas'))
    )
    with op.batch_alter_table('subscriber_areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriber_areas_place'), ['place'], unique=False)

    op.create_table('acks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('via', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_acks_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['centre_id'], ['centres.id'], name=op.f('fk_acks_centre_id_centres')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_acks_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acks')),
    sa.UniqueConstraint('alert_id', 'centre_id', 'kind', name='uq_acks_kind')
    )
    with op.batch_alter_table('acks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acks_alert_id'), ['alert_id'], unique=False)

    op.create_table('approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_approvals_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['centre_id'], ['centres.id'], name=op.f('fk_approvals_centre_id_centres')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_approvals_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals')),
    sa.UniqueConstraint('alert_id', 'version_number', 'centre_id', name='uq_approvals_decision')
    )
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approvals_alert_id'), ['alert_id'], unique=False)

    op.create_table('releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('fired_at', sa.DateTime(), nullable=True),
    sa.Column('late_ms', sa.Integer(), nullable=True),
    sa.Column('fired_by', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_releases_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_releases_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_releases')),
    sa.UniqueConstraint('alert_id', name=op.f('uq_releases_alert_id'))
    )
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_releases_scheduled_for'), ['scheduled_for'], unique=False)
        batch_op.create_index(batch_op.f('ix_releases_state'), ['state'], unique=False)

    op.create_table('payloads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('centre_code', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['releases.id'], name=op.f('fk_payloads_release_id_releases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payloads'))
    )
    with op.batch_alter_table('payloads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payloads_release_id'), ['release_id'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('payload_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('centre_code', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('target', sa.String(length=500), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_by', sa.String(length=80), nullable=True),
    sa.Column('first_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('provider_id', sa.String(length=100), nullable=True),
    sa.Column('provider_status', sa.String(length=40), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payload_id'], ['payloads.id'], name=op.f('fk_deliveries_payload_id_payloads')),
    sa.ForeignKeyConstraint(['release_id'], ['releases.id'], name=op.f('fk_deliveries_release_id_releases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_deliveries_idempotency_key'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_release_id'), ['release_id'], unique=False)

    with op.batch_alter_table('centres', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channels', sa.JSON(), server_default='{}', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('centres', schema=None) as batch_op:
        batch_op.drop_column('channels')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_release_id'))
        batch_op.drop_index(batch_op.f('ix_deliveries_provider_id'))
        batch_op.drop_index('ix_deliveries_due')

    op.drop_table('deliveries')
    with op.batch_alter_table('payloads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payloads_release_id'))

    op.drop_table('payloads')
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_releases_state'))
        batch_op.drop_index(batch_op.f('ix_releases_scheduled_for'))

    op.drop_table('releases')
    with op.batch_alter_table('approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approvals_alert_id'))

    op.drop_table('approvals')
    with op.batch_alter_table('acks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acks_alert_id'))

    op.drop_table('acks')
    with op.batch_alter_table('subscriber_areas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriber_areas_place'))

    op.drop_table('subscriber_areas')
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscribers_centre_id'))

    op.drop_table('subscribers')
    with op.batch_alter_table('partner_endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_endpoints_centre_id'))

    op.drop_table('partner_endpoints')
