"""office accounts: a person of a responsible office signs in to answer its work orders

Revision ID: 0017_office_accounts
Revises: 0013_consult

An account with the role "office" is bound to its office code (accounts.office), as an
office's API token is (api_tokens.office, 0010_work_orders); the role goes alone with the
code, so that the office's view of the orders is never widened by another role.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_office_accounts"
down_revision = "0013_consult"
branch_labels = None
depends_on = None

OLD_ROLES = "roles <@ ARRAY['agent', 'supervisor', 'ops', 'auditor']::text[]"
NEW_ROLES = "roles <@ ARRAY['agent', 'supervisor', 'ops', 'auditor', 'office']::text[]"


def upgrade() -> None:
    op.add_column("accounts", sa.Column("office", sa.String(32)))
    op.drop_constraint("accounts_known_roles", "accounts")
    op.create_check_constraint("accounts_known_roles", "accounts", NEW_ROLES)
    op.create_check_constraint(
        "accounts_office_has_code",
        "accounts",
        "(office IS NOT NULL) = ('office' = ANY(roles)) AND (office IS NULL OR roles = '{office}')",
    )


def downgrade() -> None:
    op.execute("DELETE FROM accounts WHERE 'office' = ANY(roles)")
    op.drop_constraint("accounts_office_has_code", "accounts")
    op.drop_constraint("accounts_known_roles", "accounts")
    op.create_check_constraint("accounts_known_roles", "accounts", OLD_ROLES)
    op.drop_column("accounts", "office")
