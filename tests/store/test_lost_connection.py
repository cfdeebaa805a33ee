"""A PostgreSQL that drops its connections or restarts: the next unit of work reconnects (or
waits for the server) instead of failing."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import text

from config.settings import DatabaseSettings
from store.db import Database
from tests.servers.postgres import PostgresServer, postgres_bin

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL not installed")


def _count(db: Database) -> int:
    with db.session() as session:
        return session.execute(text("SELECT count(*) FROM orders")).scalar()


def test_connections_killed_by_the_server_are_replaced(postgres_server) -> None:  # noqa: ANN001
    url = postgres_server.create_database("lost_conn")
    db = Database(url, DatabaseSettings(pool_size=2, retry_seconds=10))
    try:
        assert _count(db) == 0
        with psycopg.connect(host="127.0.0.1", port=postgres_server.port, user="postgres",
                             dbname="postgres", autocommit=True) as admin:
            killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM "
                                   "pg_stat_activity WHERE datname = 'lost_conn'").fetchone()[0]
        assert killed >= 1  # the pool's idle connection is gone
        assert _count(db) == 0  # a fresh one, not an error
    finally:
        db.dispose()


def test_a_restarting_server_is_waited_for() -> None:
    server = PostgresServer().start()
    try:
        db = Database(server.create_database("restart"), DatabaseSettings(retry_seconds=30))
        assert _count(db) == 0
        server.pause()
        threading.Timer(2.0, server.resume).start()
        started = time.monotonic()
        assert _count(db) == 0  # waits for the server instead of raising
        assert time.monotonic() - started >= 1.5
        db.dispose()
    finally:
        server.stop()
