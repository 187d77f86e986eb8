"""wrap_up: the topic code an agent gives their part of a call; callers' history by number

Revision ID: 0016_wrap_up
Revises: 0012_quality

- `call_segments.topic`: the wrap-up topic code (dialplan/topics.yaml) the agent picked on
  the desk for their leg (journal fact `wrap_up`); the reports' hot topics count it.
- Indexes by caller number and time on calls, voice messages, callbacks and work orders: the desk
  shows the caller's last 30 days when an agent answers, one probe each rather than a scan.
  Built concurrently (the journal keeps writing meanwhile).
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_wrap_up"
down_revision = "0012_quality"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_calls_caller_started", "calls", ["caller_number", "started_at"]),
    ("ix_voice_messages_caller_created", "voice_messages", ["caller_number", "created_at"]),
    ("ix_work_orders_caller_opened", "work_orders", ["caller_number", "opened_at"]),
    ("ix_callbacks_caller_requested", "callbacks", ["caller_number", "requested_at"]),
]


def upgrade() -> None:
    op.add_column("call_segments", sa.Column("topic", sa.String(32)))
    with op.get_context().autocommit_block():
        for name, table, columns in INDEXES:
            op.create_index(name, table, columns, postgresql_concurrently=True)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table)
    op.drop_column("call_segments", "topic")
