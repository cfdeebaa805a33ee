"""i11: processing attempts and claims on messages, so a message whose processing was killed
is retried a bounded number of times and two processes never process one message at once

Revision ID: i11_attempts
Revises: 0002_matching
Create Date: 2026-12-01 07:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'i11_attempts'
down_revision = '0002_matching'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        # committed before each processing attempt: a third arrival after two kills is
        # quarantined instead of retried for ever
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                      server_default='0'))
        # who is processing it and since when ("host:pid"); a live claim is left alone
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('attempts')
