"""config_versions: every version of a file ops edit that was applied from the browser

Revision ID: 0015_config_history
Revises: 0011_report_days

The YAML files stay the truth (hotline/config_edit.py writes them); this table keeps each
applied text, who applied it and when, so that any of them can be put back (a rollback is
one more version). Like the audit log, rows are only ever inserted: triggers refuse UPDATE
and DELETE.
"""

from alembic import op

revision = "0015_config_history"
down_revision = "0011_report_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE config_versions ("
        " id bigserial PRIMARY KEY,"
        " file text NOT NULL,"
        " sha256 text NOT NULL,"
        " body text NOT NULL,"
        " who text NOT NULL,"
        # browser: applied from the console; rollback: an earlier version put back;
        # on_disk: what was found in the file (edited by hand) before a browser edit.
        " origin text NOT NULL CHECK (origin IN ('browser', 'rollback', 'on_disk')),"
        " rolled_back_to bigint REFERENCES config_versions (id),"
        " at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute("CREATE INDEX ix_config_versions_file ON config_versions (file, id DESC)")
    op.execute(
        "CREATE FUNCTION config_versions_keep() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'config_versions is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER config_versions_append_only BEFORE UPDATE OR DELETE ON config_versions"
        " FOR EACH ROW EXECUTE FUNCTION config_versions_keep()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER config_versions_append_only ON config_versions")
    op.execute("DROP FUNCTION config_versions_keep()")
    op.execute("DROP TABLE config_versions")
