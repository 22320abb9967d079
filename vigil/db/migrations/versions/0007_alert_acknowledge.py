"""alerts acknowledged from the wall: who and when ("I've seen it"; the review state is unchanged)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 20:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', recreate='never') as batch:
        batch.add_column(sa.Column('acknowledged_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # never recreate `alerts` on SQLite: with foreign keys on, dropping the old table would cascade into its
    # detections and evidence
    with op.batch_alter_table('alerts', recreate='never') as batch:
        batch.drop_column('acknowledged_at')
        batch.drop_column('acknowledged_by')
