"""jobs: the worker pid of each training job, and dataset builds kept in the database (a restart keeps the list)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 19:30:00.000000
"""
from alembic import op
import sqlalchemy as sa



revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dataset_builds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('version', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dataset_builds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dataset_builds_status'), ['status'], unique=False)

    with op.batch_alter_table('training_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pid', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('training_jobs', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('pid')
    with op.batch_alter_table('dataset_builds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dataset_builds_status'))
    op.drop_table('dataset_builds')
