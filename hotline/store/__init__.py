"""PostgreSQL: tables, migrations and the journal that writes to them."""
