"""the in-app inbox (items addressed to a user or a role, reads per user) and users' e-mail addresses

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('inbox_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_items_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_items_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_items_role'), ['role'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_items_user_id'), ['user_id'], unique=False)

    op.create_table('inbox_reads',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['inbox_items.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'user_id')
    )
    with op.batch_alter_table('users', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('email')
    op.drop_table('inbox_reads')
    with op.batch_alter_table('inbox_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_items_user_id'))
        batch_op.drop_index(batch_op.f('ix_inbox_items_role'))
        batch_op.drop_index(batch_op.f('ix_inbox_items_lead_id'))
        batch_op.drop_index(batch_op.f('ix_inbox_items_created_at'))
    op.drop_table('inbox_items')
