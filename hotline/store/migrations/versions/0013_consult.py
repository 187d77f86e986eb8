"""consult: call segments say who consulted whom, for how long, and how it ended

Revision ID: 0013_consult
Revises: 0014_follow_up

On the asking agent's segment: the expert queue consulted, the expert who answered (NULL:
none did), the seconds agent and expert talked before the agent decided, and how it ended
(complete, three_way, cancelled, no_expert); the last consult of the segment, if several.
On an expert's segment: the agent who consulted them (`consulted_by`), so expert legs are
told from transfers. Reports count expert resolution from these (acd/consult.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_consult"
down_revision = "0014_follow_up"
branch_labels = None
depends_on = None

COLUMNS = (
    ("consulted_by", sa.String(16)),
    ("consult_queue", sa.String(64)),
    ("consult_expert", sa.String(16)),
    ("consult_seconds", sa.Float()),
    ("consult_outcome", sa.String(16)),
)


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("call_segments", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column("call_segments", name)
