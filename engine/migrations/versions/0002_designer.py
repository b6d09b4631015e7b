"""designer: drafts and publication requests

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 19:45:00
"""
from alembic import op
import sqlalchemy as sa
import engine.models  # noqa: F401

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'design_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('filename', sa.String(length=300), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('based_on_id', sa.Integer(), nullable=True),
        sa.Column('author', sa.String(length=80), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('problems', sa.JSON(), nullable=False),
        sa.Column('scenarios', sa.JSON(), nullable=False),
        sa.Column('published_definition_id', sa.Integer(), nullable=True),
        sa.Column('created_at', engine.models.AwareDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', engine.models.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['based_on_id'], ['definitions.id']),
        sa.ForeignKeyConstraint(['published_definition_id'], ['definitions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('design_drafts', schema=None) as batch_op:
        batch_op.create_index('ix_design_drafts_artefact', ['kind', 'key', 'scope', 'status'], unique=False)

    op.create_table(
        'design_publication_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('draft_id', sa.Integer(), nullable=False),
        sa.Column('requested_by', sa.String(length=80), nullable=False),
        sa.Column('requested_at', engine.models.AwareDateTime(timezone=True), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('approver', sa.String(length=80), nullable=True),
        sa.Column('decision', sa.String(length=16), nullable=True),
        sa.Column('decision_comment', sa.Text(), nullable=True),
        sa.Column('decided_at', engine.models.AwareDateTime(timezone=True), nullable=True),
        sa.Column('definition_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['draft_id'], ['design_drafts.id']),
        sa.ForeignKeyConstraint(['definition_id'], ['definitions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('design_publication_requests', schema=None) as batch_op:
        batch_op.create_index('ix_design_publication_requests_draft_id', ['draft_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('design_publication_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_design_publication_requests_draft_id')
    op.drop_table('design_publication_requests')
    with op.batch_alter_table('design_drafts', schema=None) as batch_op:
        batch_op.drop_index('ix_design_drafts_artefact')
    op.drop_table('design_drafts')
