"""report_days: each past hour's and day's figures, stored once, forgotten when a record changes

Revision ID: 0011_report_days
Revises: 0010_work_orders

A day's report sums its stored hours, a week or a month its stored days (a day is stored
once its 24 hours are: acd/report_rollup.py). A stored hour or day must never outlive a
change to what it was computed from, whoever writes it (the controller's journal, a late
spool replay, a restore): triggers in PostgreSQL forget the hour and the day of every call
whose rows are written or deleted, every hour and day whose agents' states reached past a
state change written late, and everything on a TRUNCATE. They fire per statement
(transition tables): a batch of the journal costs one join, not one per row.

An hour is stored under session advisory locks on the UTC hours it read (hotline/
report_days.py); each trigger takes the shared lock of the hours it touches first, so a
write that races with the storing of its hour waits for it, then forgets it.
"""

from alembic import op

revision = "0011_report_days"
down_revision = "0010_work_orders"
branch_labels = None
depends_on = None

# Advisory lock keys: (class, UTC hours since 2000-01-01): a call's rows lock the hour the
# call started in, agents' states the hour they happened in (hotline/report_days.py).
LOCK_CLASS = 12333
STATES_LOCK_CLASS = 12334
# Recent records skip the work (the journal's writes of calls in progress, nearly all of
# them): an hour is stored only 10 minutes after the last states it reads
# (report_days.STORE_AFTER), so a record this recent cannot belong to a stored hour, nor to
# one being stored. It assumes the controller's clock and PostgreSQL's agree within it.
RECENT = "interval '5 minutes'"

# One statement per execute: asyncpg prepares each, and a prepared statement is one command.
FUNCTIONS = (
    """CREATE FUNCTION report_hour_key(moment timestamptz) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$
        SELECT (floor(extract(epoch FROM moment - TIMESTAMPTZ '2000-01-01 00:00+00') / 3600))::int
    $$""",
    f"""CREATE FUNCTION report_days_forget_calls_at(moments timestamptz[]) RETURNS void
    LANGUAGE plpgsql AS $$
    DECLARE k integer;
    BEGIN
        FOR k IN SELECT DISTINCT report_hour_key(m) FROM unnest(moments) m ORDER BY 1 LOOP
            PERFORM pg_advisory_xact_lock_shared({LOCK_CLASS}, k);
        END LOOP;
        DELETE FROM report_days r USING unnest(moments) m
        WHERE r.day BETWEEN (m AT TIME ZONE 'UTC')::date - 1 AND (m AT TIME ZONE 'UTC')::date + 1
          AND r.day = (m AT TIME ZONE r.zone)::date
          AND r.hour IN (-1, extract(hour FROM m AT TIME ZONE r.zone));
    END
    $$""",
    f"""CREATE FUNCTION report_days_forget_calls() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM changed_rows WHERE started_at NOT BETWEEN now() - {RECENT}
                       AND now() + {RECENT}) THEN
            RETURN NULL;
        END IF;
        PERFORM report_days_forget_calls_at(ARRAY(SELECT DISTINCT started_at FROM changed_rows));
        RETURN NULL;
    END
    $$""",
    # A row of a call still open (its `ended_at` not written: the journal writes a call's
    # rows in order, batch after batch) belongs to no hour stored or being stored: an hour
    # with a call open is not stored.
    f"""CREATE FUNCTION report_days_forget_calls_of() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE moments timestamptz[];
    BEGIN
        moments := ARRAY(
            SELECT DISTINCT c.started_at FROM changed_rows n JOIN calls c USING (channel_id)
            WHERE c.ended_at IS NOT NULL
               OR c.started_at NOT BETWEEN now() - {RECENT} AND now() + {RECENT});
        IF cardinality(moments) > 0 THEN
            PERFORM report_days_forget_calls_at(moments);
        END IF;
        RETURN NULL;
    END
    $$""",
    """CREATE FUNCTION report_days_forget_all() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM report_days;
        RETURN NULL;
    END
    $$""",
    f"""CREATE FUNCTION report_days_forget_states() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE k integer;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM changed_rows WHERE at NOT BETWEEN now() - {RECENT}
                       AND now() + {RECENT}) THEN
            RETURN NULL;
        END IF;
        FOR k IN SELECT DISTINCT report_hour_key(n.at) FROM changed_rows n ORDER BY 1 LOOP
            PERFORM pg_advisory_xact_lock_shared({STATES_LOCK_CLASS}, k);
        END LOOP;
        DELETE FROM report_days WHERE window_end > (SELECT min(at) FROM changed_rows);
        RETURN NULL;
    END
    $$""",
)

# (table, function): the trigger's rows must have started_at (calls), channel_id or at.
WATCHED = (
    ("calls", "report_days_forget_calls"),
    ("call_events", "report_days_forget_calls_of"),
    ("call_segments", "report_days_forget_calls_of"),
    ("callbacks", "report_days_forget_calls_of"),
    ("surveys", "report_days_forget_calls_of"),
    ("agent_state_changes", "report_days_forget_states"),
)
EVENTS = (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))


def upgrade() -> None:
    op.execute(
        "CREATE TABLE report_days ("
        " day date NOT NULL,"
        " hour smallint NOT NULL CHECK (hour BETWEEN -1 AND 23),"  # -1: the whole day
        " rules_key text NOT NULL,"
        " zone text NOT NULL,"
        " window_end timestamptz NOT NULL,"  # agents' states were read up to here
        " calls integer NOT NULL,"
        " body jsonb NOT NULL,"
        " computed_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (day, hour, rules_key))"
    )
    op.execute("CREATE INDEX ix_report_days_window_end ON report_days (window_end)")
    for statement in FUNCTIONS:
        op.execute(statement)
    # Transition tables allow one event per trigger: one trigger per event (a deleted row
    # is seen under the same name as a written one).
    for table, function in WATCHED:
        for event, rows in EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_forgets_report_days AFTER {event}"
                f" ON {table} REFERENCING {rows} TABLE AS changed_rows FOR EACH STATEMENT"
                f" EXECUTE FUNCTION {function}()"
            )
        op.execute(
            f"CREATE TRIGGER {table}_truncate_forgets_report_days AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION report_days_forget_all()"
        )


def downgrade() -> None:
    for table, _ in WATCHED:
        for event in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER {table}_{event}_forgets_report_days ON {table}")
    for name in (
        "report_days_forget_all()",
        "report_days_forget_states()",
        "report_days_forget_calls_of()",
        "report_days_forget_calls()",
        "report_days_forget_calls_at(timestamptz[])",
        "report_hour_key(timestamptz)",
    ):
        op.execute(f"DROP FUNCTION {name}")
    op.execute("DROP TABLE report_days")
