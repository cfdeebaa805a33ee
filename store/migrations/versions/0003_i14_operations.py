"""operations: per-source poll results (status), intake claims (several workers)

Revision ID: i14_operations
Revises: 0002_matching
Create Date: 2026-12-01 07:30:00
"""
from alembic import op
import sqlalchemy as sa



revision = 'i14_operations'
down_revision = '0002_matching'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'source_polls',
        sa.Column('source', sa.String(length=128), nullable=False),
        sa.Column('last_poll_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_ok_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('messages_taken', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('worker', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('source', name=op.f('pk_source_polls')),
    )
    op.create_table(
        'intake_claims',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=128), nullable=False),
        sa.Column('source_key', sa.String(length=256), nullable=False),
        sa.Column('worker', sa.String(length=200), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_claims')),
        sa.UniqueConstraint('source', 'source_key', name='uq_intake_claims_source_key'),
    )


def downgrade() -> None:
    op.drop_table('intake_claims')
    op.drop_table('source_polls')
