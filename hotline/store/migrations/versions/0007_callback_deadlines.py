"""callbacks get a deadline; a voice message may come from an expired callback (no audio)

Revision ID: 0007
Revises: 0006

Backward compatible for one release (a controller of the previous release keeps running
while this migrates): both columns are nullable or defaulted, and the previous code never
reads them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("callbacks", sa.Column("deadline", sa.DateTime(timezone=True)))
    op.alter_column("voice_messages", "recording", existing_type=sa.Text(), nullable=True)
    op.add_column(
        "voice_messages",
        sa.Column("origin", sa.String(24), nullable=False, server_default="voicemail"),
    )


def downgrade() -> None:
    op.drop_column("voice_messages", "origin")
    op.execute("DELETE FROM voice_messages WHERE recording IS NULL")
    op.alter_column("voice_messages", "recording", existing_type=sa.Text(), nullable=False)
    op.drop_column("callbacks", "deadline")
