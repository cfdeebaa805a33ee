"""mailboxes as identifiers: an index on the lower-cased userid

Revision ID: i13_userid_lower
Revises: i12_review
Create Date: 2026-12-01 07:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'i13_userid_lower'
down_revision = 'i12_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # customers write their userid instead of the order code: looked up lower-cased
    op.create_index('ix_orders_userid_lower', 'orders', [sa.text('lower(userid)')],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_orders_userid_lower', table_name='orders')
