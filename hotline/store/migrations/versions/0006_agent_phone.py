"""agent_state_changes: the desk phone the agent was at (hot-desking)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agent_state_changes", sa.Column("phone", sa.String(16)))


def downgrade() -> None:
    op.drop_column("agent_state_changes", "phone")
