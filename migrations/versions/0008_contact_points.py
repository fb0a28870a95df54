"""the network's contact-point directory: per centre, a contact for each field of work

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'contact_points',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('centre_id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=True),
        sa.Column('function', sa.String(length=200), nullable=True),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('languages', sa.JSON(), nullable=False),
        sa.Column('hours', sa.String(length=200), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('last_verified_at', sa.DateTime(), nullable=True),
        sa.Column('last_verified_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['centre_id'], ['centres.id'], name=op.f('fk_contact_points_centre_id_centres')),
        sa.ForeignKeyConstraint(['last_verified_by_id'], ['users.id'],
                                name=op.f('fk_contact_points_last_verified_by_id_users')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_contact_points_created_by_id_users')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_contact_points_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_points')),
    )
    op.create_index(op.f('ix_contact_points_centre_id'), 'contact_points', ['centre_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_contact_points_centre_id'), table_name='contact_points')
    op.drop_table('contact_points')
