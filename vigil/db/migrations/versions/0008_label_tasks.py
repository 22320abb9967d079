"""active learning: labelling tasks (frames the detector was unsure of)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('label_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=64), nullable=False),
    sa.Column('profile', sa.String(length=8), nullable=False),
    sa.Column('image_key', sa.String(length=500), nullable=False),
    sa.Column('image_sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('detections', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('model_version', sa.String(length=100), nullable=False),
    sa.Column('captured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('label_image_id', sa.Integer(), nullable=True),
    sa.Column('done_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['label_image_id'], ['label_images.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_label_tasks_camera_id'), 'label_tasks', ['camera_id'], unique=False)
    op.create_index(op.f('ix_label_tasks_status'), 'label_tasks', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_label_tasks_status'), table_name='label_tasks')
    op.drop_index(op.f('ix_label_tasks_camera_id'), table_name='label_tasks')
    op.drop_table('label_tasks')
