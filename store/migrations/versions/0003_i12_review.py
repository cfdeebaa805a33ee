"""review web UI: users, login attempts, receipt review state, review actions

Revision ID: i12_review
Revises: 0002_matching
Create Date: 2026-12-01 07:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'i12_review'
down_revision = '0002_matching'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=256), nullable=False),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('session_epoch', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('name', name=op.f('uq_users_name')),
    )
    op.create_table(
        'login_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('client', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts')),
    )
    op.create_index('ix_login_attempts_name_at', 'login_attempts', ['name', 'at'])
    op.create_table(
        'receipt_reviews',
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('locked_by', sa.String(length=64), nullable=True),
        sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reviewed_by', sa.String(length=128), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expiry_date', sa.Date(), nullable=True),
        sa.Column('reason_kind', sa.String(length=32), nullable=False),
        sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column('method', sa.String(length=32), nullable=True),
        sa.Column('top_candidate', sa.String(length=32), nullable=True),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'],
                                name=op.f('fk_receipt_reviews_message_id_messages')),
        sa.PrimaryKeyConstraint('message_id', name=op.f('pk_receipt_reviews')),
    )
    op.create_index('ix_receipt_reviews_queue', 'receipt_reviews', ['expiry_date', 'queued_at'])
    op.create_index('ix_receipt_reviews_reason_kind', 'receipt_reviews', ['reason_kind'])
    op.create_table(
        'review_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('order_codes', sa.JSON(), nullable=False),
        sa.Column('details', sa.JSON(), nullable=True),
        sa.Column('undo_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'],
                                name=op.f('fk_review_actions_message_id_messages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_actions')),
    )
    op.create_index('ix_review_actions_message_id', 'review_actions', ['message_id'])


def downgrade() -> None:
    op.drop_table('review_actions')
    op.drop_table('receipt_reviews')
    op.drop_table('login_attempts')
    op.drop_table('users')
