"""enforcement: the three-step lead workflow (statuses renamed), decisions, on-site attachments, documents,
rectification notices, site contacts, alert outcomes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 15:55:03.805122
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# old lead statuses -> the workflow's (new and assigned leads still hold electronic evidence only)
OLD_TO_NEW = (("new", "electronic_evidence"), ("assigned", "electronic_evidence"), ("verified_on_site", "review"))
NEW_TO_OLD = (("new", "electronic_evidence"), ("assigned", "onsite_verification"), ("verified_on_site", "review"))


def upgrade() -> None:
    op.create_table('lead_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('manifest_revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lead_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_attachments_lead_id'), ['lead_id'], unique=False)

    op.create_table('lead_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('fmt', sa.String(length=8), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('lead_id', 'kind', 'lang', 'fmt', 'version')
    )
    with op.batch_alter_table('lead_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_documents_lead_id'), ['lead_id'], unique=False)

    op.create_table('rectification_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply_note', sa.Text(), nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('rectification_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_notices_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_notices_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_notices_status'), ['status'], unique=False)

    # add columns in place (recreate='never'): rebuilding leads or sites on SQLite with foreign keys on would
    # cascade into the rows that refer to them
    with op.batch_alter_table('alerts', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('lead_outcome', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_alerts_lead_outcome'), ['lead_outcome'], unique=False)

    with op.batch_alter_table('leads', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('verified_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision', sa.JSON(), nullable=False, server_default='{}'))

    with op.batch_alter_table('sites', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('contact_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=200), nullable=False, server_default=''))

    for old, new in OLD_TO_NEW:
        op.execute(sa.text("UPDATE leads SET status = :new WHERE status = :old").bindparams(old=old, new=new))


def downgrade() -> None:
    for old, new in NEW_TO_OLD:
        op.execute(sa.text("UPDATE leads SET status = :old WHERE status = :new").bindparams(old=old, new=new))
    with op.batch_alter_table('sites', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')

    with op.batch_alter_table('leads', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('decision')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('verified_by_id')

    with op.batch_alter_table('alerts', schema=None, recreate='never') as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_lead_outcome'))
        batch_op.drop_column('lead_outcome')

    with op.batch_alter_table('rectification_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_notices_status'))
        batch_op.drop_index(batch_op.f('ix_rectification_notices_site_id'))
        batch_op.drop_index(batch_op.f('ix_rectification_notices_lead_id'))

    op.drop_table('rectification_notices')
    with op.batch_alter_table('lead_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_documents_lead_id'))

    op.drop_table('lead_documents')
    with op.batch_alter_table('lead_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_attachments_lead_id'))

    op.drop_table('lead_attachments')
