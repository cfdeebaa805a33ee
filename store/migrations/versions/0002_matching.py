"""matching: order review flags, decision flags, look-up indexes for matching

Revision ID: 0002_matching
Revises: 0001
Create Date: 2026-11-23 06:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_matching'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        # a flag for a person (refund review, double payment review...); status unaffected
        batch_op.add_column(sa.Column('review_flag', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('review_reason', sa.Text(), nullable=True))
        # PEC senders write from their mailbox: the sender is matched against it
        batch_op.create_index('ix_orders_pec_address', ['pec_address'], unique=False)
    with op.batch_alter_table('match_decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flags', sa.JSON(), nullable=True))
    with op.batch_alter_table('extractions', schema=None) as batch_op:
        # the same payment sent twice (by email and by fax): same amount and date first
        batch_op.create_index('ix_extractions_amount_payment_date',
                              ['amount', 'payment_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('extractions', schema=None) as batch_op:
        batch_op.drop_index('ix_extractions_amount_payment_date')
    with op.batch_alter_table('match_decisions', schema=None) as batch_op:
        batch_op.drop_column('flags')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_pec_address')
        batch_op.drop_column('review_reason')
        batch_op.drop_column('review_flag')
