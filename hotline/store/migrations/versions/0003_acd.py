"""acd: agent state changes, call segments, recordings, satisfaction answers

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_state_changes",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("agent", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_agent_state_changes_agent_at", "agent_state_changes", ["agent", "at"])
    # One row per leg of a call with a person: queue -> agent -> expert; survives transfers.
    op.create_table(
        "call_segments",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(64), nullable=False, index=True),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(16), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(16)),
        sa.UniqueConstraint("channel_id", "agent", "offered_at"),
    )
    op.create_table(
        "recordings",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(64), nullable=False, index=True),
        sa.Column("agent", sa.String(16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False, unique=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purge_after", sa.Date(), nullable=False),
    )
    op.create_table(
        "recording_access",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("recording_id", sa.BigInteger(), sa.ForeignKey("recordings.id"), nullable=False),
        sa.Column("who", sa.String(64), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "surveys",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(64), nullable=False, unique=True),
        sa.Column("agent", sa.String(16), nullable=False, index=True),
        sa.Column("score", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "surveys",
        "recording_access",
        "recordings",
        "call_segments",
        "agent_state_changes",
    ):
        op.drop_table(table)
