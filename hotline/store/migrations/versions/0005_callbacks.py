"""callbacks: virtual hold requests, their attempts and how they ended

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per callback, keyed by the call it belongs to; a restarted controller puts the
    # pending ones back in their place (`entered`: the caller's original time of entry).
    op.create_table(
        "callbacks",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(64), nullable=False, unique=True),
        sa.Column("caller_number", sa.String(64)),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("entered", sa.Float(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False, server_default="zh"),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("agent", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_callbacks_status", "callbacks", ["status"])
    op.create_index("ix_callbacks_number_requested", "callbacks", ["number", "requested_at"])


def downgrade() -> None:
    op.drop_table("callbacks")
