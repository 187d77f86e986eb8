"""Applying the Alembic migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

INI = Path(__file__).with_name("alembic.ini")


def upgrade(database_url: str) -> None:
    """Bring the schema to the newest revision (runs its own event loop: call outside one)."""
    config = Config(str(INI))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, "head")
