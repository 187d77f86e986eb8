"""reports: indexes to read a period's records without scanning whole tables

Revision ID: 0008_reports
Revises: 0007

Indexes only, built concurrently (backward compatible: the running controller keeps
writing meanwhile). A report starts
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

INDEXES = [
    ("ix_agent_state_changes_at", "agent_state_changes", "at"),
    ("ix_voice_messages_created_at", "voice_messages", "created_at"),
    ("ix_surveys_at", "surveys", "at"),
]


def upgrade() -> None:
    # CONCURRENTLY (outside a transaction): a plain CREATE INDEX would hold up the journal's
    # inserts into these tables for the whole build, minutes on a year of calls.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_call_events_queue_entries",
            "call_events",
            ["channel_id", "at"],
            postgresql_where="kind IN ('queued', 'transferred_to_queue', 'agent')",
            postgresql_concurrently=True,
        )
        for name, table, column in INDEXES:
            op.create_index(name, table, [column], postgresql_concurrently=True)


def downgrade() -> None:
    op.drop_index("ix_surveys_at", "surveys")
    op.drop_index("ix_voice_messages_created_at", "voice_messages")
    op.drop_index("ix_agent_state_changes_at", "agent_state_changes")
    op.drop_index("ix_call_events_queue_entries", "call_events")
