"""Upgrading a database that is in use: the first schema with a day's data in it, brought to
every head on SQLite and on PostgreSQL, keeps every row and adds what is new."""
from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from store.db import Database, _alembic_config, current_revision, head_revision, migrate

ORDER = ("INSERT INTO orders (code, userid, pec_address, customer_name, customer_email, amount, "
         "expiry_date, years, status, created_at, updated_at) VALUES ('RLM95055', 'U1', "
         "'mario@pec.it', 'Mario Rossi', 'mario@example.com', 10.89, '2026-04-22', 1, 'paid', "
         "'2026-03-16 09:00:00+00:00', '2026-03-16 09:00:00+00:00')")
MESSAGE = ("INSERT INTO messages (source, source_key, sha256, size, kind, status, received_at) "
           "VALUES ('inbox', 'k1', '{h}', 10, 'payment', 'matched', "
           "'2026-03-16 09:00:00+00:00')").format(h="a" * 64)


def test_upgrade_of_a_populated_database_keeps_its_rows(database_url: str) -> None:
    db = Database(database_url)
    try:
        command.upgrade(_alembic_config(db.engine), "0001")  # the first release's schema
        with db.engine.begin() as conn:
            conn.execute(text(ORDER))
            conn.execute(text(MESSAGE))
        assert current_revision(db.engine) == "0001"
        before, after = migrate(db.engine)
        assert before == "0001" and after == head_revision(db.engine)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT code, status, amount FROM orders")).one() == (
                "RLM95055", "paid", conn.execute(text("SELECT amount FROM orders")).scalar())
            assert conn.execute(text("SELECT status FROM messages")).scalar() == "matched"
        tables = set(inspect(db.engine).get_table_names())
        assert {"source_polls", "intake_claims"} <= tables
        assert migrate(db.engine) == (after, after)  # and again: nothing to do
    finally:
        db.dispose()
