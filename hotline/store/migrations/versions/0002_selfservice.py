"""self-service: demo social-insurance records, identity locks, voice messages

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "demo_citizens",
        sa.Column("id_number", sa.String(18), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("pension_months", sa.Integer(), nullable=False),
        sa.Column("pension_balance", sa.Numeric(12, 2), nullable=False),
        sa.Column("medical_balance", sa.Numeric(12, 2), nullable=False),
        sa.Column("last_payment_date", sa.Date()),
        sa.Column("last_payment_amount", sa.Numeric(12, 2)),
        sa.Column("card_status", sa.String(16), nullable=False),
    )
    op.create_table(
        "demo_cases",
        sa.Column("number", sa.String(20), primary_key=True),
        sa.Column("id_number", sa.String(18), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "identity_locks",
        sa.Column("id_number", sa.String(18), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "identity_attempts",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel_id", sa.String(64)),
        sa.Column("id_masked", sa.String(18), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
    )
    op.create_table(
        "voice_messages",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("caller_number", sa.String(64)),
        sa.Column("callback_number", sa.String(64)),
        sa.Column("recording", sa.Text(), nullable=False, unique=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    )
    op.create_index("ix_voice_messages_status_due", "voice_messages", ["status", "due_on"])


def downgrade() -> None:
    for table in (
        "voice_messages",
        "identity_attempts",
        "identity_locks",
        "demo_cases",
        "demo_citizens",
    ):
        op.drop_table(table)
