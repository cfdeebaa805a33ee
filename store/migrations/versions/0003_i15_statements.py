"""bank statements: files, lines, their references, the orders they paid or confirmed

Revision ID: i15_statements
Revises: 0002_matching
Create Date: 2026-12-01 07:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'i15_statements'
down_revision = '0002_matching'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('statement_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=512), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=32), nullable=True),
    sa.Column('version', sa.String(length=16), nullable=True),
    sa.Column('accounts', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('lines_read', sa.Integer(), nullable=False),
    sa.Column('lines_new', sa.Integer(), nullable=False),
    sa.Column('lines_known', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.JSON(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_files')),
    sa.UniqueConstraint('sha256', name=op.f('uq_statement_files_sha256'))
    )
    op.create_table('statement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('reference', sa.String(length=140), nullable=True),
    sa.Column('references', sa.JSON(), nullable=False),
    sa.Column('remittance', sa.Text(), nullable=False),
    sa.Column('payer', sa.String(length=256), nullable=True),
    sa.Column('payer_account', sa.String(length=64), nullable=True),
    sa.Column('counterparty', sa.String(length=256), nullable=True),
    sa.Column('bank_code', sa.String(length=64), nullable=True),
    sa.Column('reversal', sa.Boolean(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['file_id'], ['statement_files.id'], name=op.f('fk_statement_lines_file_id_statement_files')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_statement_lines_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_lines')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_statement_lines_fingerprint'))
    )
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.create_index('ix_statement_lines_day_amount', ['account', 'booking_date', 'amount'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_file_id'), ['file_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_status'), ['status'], unique=False)
    op.create_table('statement_refs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=140), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['statement_lines.id'], name=op.f('fk_statement_refs_line_id_statement_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_refs')),
    sa.UniqueConstraint('line_id', 'value', name='uq_statement_refs_pair')
    )
    with op.batch_alter_table('statement_refs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_refs_line_id'), ['line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_refs_value'), ['value'], unique=False)
    op.create_table('statement_line_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['statement_lines.id'], name=op.f('fk_statement_line_orders_line_id_statement_lines')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_statement_line_orders_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_line_orders')),
    sa.UniqueConstraint('line_id', 'order_id', name='uq_statement_line_orders_pair')
    )
    with op.batch_alter_table('statement_line_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_line_orders_line_id'), ['line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_line_orders_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    op.drop_table('statement_line_orders')
    op.drop_table('statement_refs')
    op.drop_table('statement_lines')
    op.drop_table('statement_files')
