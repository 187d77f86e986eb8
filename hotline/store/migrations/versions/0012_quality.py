"""quality sampling (质检): each day's draw, its samples, the supervisors' scores

Revision ID: 0012_quality
Revises: 0015_config_history

`quality_days` has one row per day drawn, with the seed the draw used (the sample can be
drawn again from it and the day's recordings) and the share and floor it applied; it is
what makes the daily draw happen once (its primary key). A sample is a recording (at most
once); a score is one per sample, with who gave it, when, the points per item and the form's
weights and scales as they were (a later change to the form does not change old scores).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012_quality"
down_revision = "0015_config_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("seed", sa.String(64), nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("minimum_per_agent", sa.Integer, nullable=False),
        sa.Column("min_seconds", sa.Integer, nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("samples", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "quality_samples",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("day", sa.Date, sa.ForeignKey("quality_days.day"), nullable=False, index=True),
        sa.Column(
            "recording_id",
            sa.BigInteger,
            sa.ForeignKey("recordings.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("agent", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_quality_samples_agent_day", "quality_samples", ["agent", "day"])
    op.create_table(
        "quality_scores",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "sample_id",
            sa.BigInteger,
            sa.ForeignKey("quality_samples.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("scorer", sa.String(80), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Numeric(5, 2), nullable=False),
        sa.Column("items", JSONB, nullable=False),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name="quality_scores_score"),
    )


def downgrade() -> None:
    for table in ("quality_scores", "quality_samples", "quality_days"):
        op.drop_table(table)
