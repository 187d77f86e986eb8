"""work orders (deferred answers) and their status history; per-office API tokens

Revision ID: 0010_work_orders
Revises: 0009_accounts

The order row keeps the current status (for the lists and the 督办 scan); every step is a
row of work_order_steps. An office answers through a token with the role "office", bound to
its office code (api_tokens.office).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_work_orders"
down_revision = "0009_accounts"
branch_labels = None
depends_on = None

OLD_ROLES = "roles <@ ARRAY['agent', 'supervisor', 'ops', 'auditor']::text[]"
TOKEN_ROLES = "roles <@ ARRAY['agent', 'supervisor', 'ops', 'auditor', 'office']::text[]"


def upgrade() -> None:
    op.execute("CREATE SEQUENCE work_order_numbers")
    op.create_table(
        "work_orders",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("number", sa.String(12), nullable=False, unique=True),
        sa.Column("caller_number", sa.String(64), nullable=False, server_default=""),
        sa.Column("callback_number", sa.String(64), nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False, server_default=""),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("line", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("office", sa.String(32), nullable=False, server_default=""),
        sa.Column("owner", sa.String(16)),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recording", sa.Text),
        sa.Column("answer", sa.Text, nullable=False, server_default=""),
        sa.Column("satisfaction", sa.SmallInteger),
        sa.Column("call_id", sa.String(64)),  # the call it came from (a voice message's call)
        sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name="work_orders_satisfaction"),
    )
    op.create_index("ix_work_orders_status_due", "work_orders", ["status", "due_at"])
    op.create_index("ix_work_orders_office_status", "work_orders", ["office", "status"])
    op.create_index("ix_work_orders_owner_status", "work_orders", ["owner", "status"])
    op.create_index("ux_work_orders_call_id", "work_orders", ["call_id"], unique=True)
    op.create_table(
        "work_order_steps",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "order_id",
            sa.BigInteger,
            sa.ForeignKey("work_orders.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(80), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    op.add_column("api_tokens", sa.Column("office", sa.String(32)))
    op.drop_constraint("api_tokens_known_roles", "api_tokens")
    op.create_check_constraint("api_tokens_known_roles", "api_tokens", TOKEN_ROLES)
    op.create_check_constraint(
        "api_tokens_office_has_code",
        "api_tokens",
        "(office IS NOT NULL) = ('office' = ANY(roles))",
    )


def downgrade() -> None:
    op.execute("DELETE FROM api_tokens WHERE 'office' = ANY(roles)")
    op.drop_constraint("api_tokens_office_has_code", "api_tokens")
    op.drop_constraint("api_tokens_known_roles", "api_tokens")
    op.create_check_constraint("api_tokens_known_roles", "api_tokens", OLD_ROLES)
    op.drop_column("api_tokens", "office")
    op.drop_table("work_order_steps")
    op.drop_table("work_orders")
    op.execute("DROP SEQUENCE work_order_numbers")
