"""reports: indexes to read a period's records without scanning whole tables

Revision ID: 0008_reports
Revises: 0007

Indexes only (backward compatible: the running controller never notices). A report starts
from the calls that arrived in the period (ix_calls_started_at, there since 0001) and joins
their segments, callbacks and surveys by call id (indexed already); these cover the rest:
- the queue entries and agents put through among a call's events (a partial index: a few
  rows per call of the dozens of events a call has);
- agents' state changes, voice messages and survey answers by time (the agents' report
  and the quarterly ratings read a period of them).
"""

from alembic import op

revision = "0008_reports"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_call_events_queue_entries",
        "call_events",
        ["channel_id", "at"],
        postgresql_where="kind IN ('queued', 'transferred_to_queue', 'agent')",
    )
    op.create_index("ix_agent_state_changes_at", "agent_state_changes", ["at"])
    op.create_index("ix_voice_messages_created_at", "voice_messages", ["created_at"])
    op.create_index("ix_surveys_at", "surveys", ["at"])


def downgrade() -> None:
    op.drop_index("ix_surveys_at", "surveys")
    op.drop_index("ix_voice_messages_created_at", "voice_messages")
    op.drop_index("ix_agent_state_changes_at", "agent_state_changes")
    op.drop_index("ix_call_events_queue_entries", "call_events")
