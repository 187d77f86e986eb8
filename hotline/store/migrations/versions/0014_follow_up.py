"""work orders: the owner's call-back and the follow-up call's attempts and result

Revision ID: 0014_follow_up
Revises: 0016_wrap_up

`called_back_at`: when the owner's call-back (POST /work-orders/<n>/call) reached the
citizen; the follow-up call (回访) is due some time after it. `follow_up_attempts` and
`follow_up_last` space and bound its attempts; `follow_up_result` says how it ended:
`rated` (the satisfaction column holds the answer), `no_rating` (answered, no key), or
`not_reached` (no answer after every attempt).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_follow_up"
down_revision = "0016_wrap_up"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("work_orders", sa.Column("called_back_at", sa.DateTime(timezone=True)))
    op.add_column(
        "work_orders",
        sa.Column("follow_up_attempts", sa.SmallInteger, nullable=False, server_default="0"),
    )
    op.add_column("work_orders", sa.Column("follow_up_last", sa.DateTime(timezone=True)))
    op.add_column("work_orders", sa.Column("follow_up_result", sa.String(16)))


def downgrade() -> None:
    for column in ("follow_up_result", "follow_up_last", "follow_up_attempts", "called_back_at"):
        op.drop_column("work_orders", column)
