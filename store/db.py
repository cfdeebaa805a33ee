"""Engine, sessions and schema migrations."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from config.settings import DatabaseSettings
from core.errors import ConfigError, StorageError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, pool: DatabaseSettings | None = None) -> Engine:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        folder = Path(url[len("sqlite:///"):]).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"database {url}: folder {folder} cannot be created: "
                               f"{exc.strerror or exc}") from None
    options: dict = {}
    if not url.startswith("sqlite"):
        pool = pool or DatabaseSettings()
        # pre_ping: a connection the server dropped (restart, failover, idle timeout) is
        # replaced at checkout instead of failing the next unit of work
        options = {"pool_pre_ping": True, "pool_size": pool.pool_size,
                   "max_overflow": pool.max_overflow, "pool_timeout": pool.pool_timeout_seconds,
                   "pool_recycle": pool.pool_recycle_seconds}
        if url.startswith("postgresql"):
            options["connect_args"] = {"connect_timeout": max(1, int(
                pool.connect_timeout_seconds)), "application_name": "pec-intake"}
    try:
        engine = create_engine(url, future=True, **options)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigError(f"database.url: cannot use {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    # WAL lets a reader (receipts list) run beside the daemon; busy_timeout makes two
    # writers wait for each other instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The applied revision(s), comma-separated when independent branches are applied."""
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) or None


def head_revision(engine: Engine) -> str | None:
    heads = ScriptDirectory.from_config(_alembic_config(engine)).get_heads()
    return ",".join(sorted(heads)) or None


def migrate(engine: Engine) -> tuple[str | None, str | None]:
    """Upgrades the schema to every head; returns (revision before, revision after).

    "heads", not "head": independent migrations written side by side (each revising the
    same parent) are all applied without a merge revision. Under a lock across processes
    (a file lock beside a SQLite database, an advisory lock on PostgreSQL), so two first
    runs on a new database both succeed: the second finds the schema the first made. A
    database that cannot be opened or written is a ``StorageError`` (exit 1, one line)."""
    try:
        with _migration_lock(engine):
            before = current_revision(engine)
            if before != head_revision(engine):
                command.upgrade(_alembic_config(engine), "heads")
            return before, current_revision(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"database {_where(engine)}: cannot be opened or migrated: "
                           f"{one_line(exc)}") from None


def one_line(exc: BaseException) -> str:
    """An exception as one line: the driver's message without SQL or background links."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split("\n")[0].split()) or type(orig).__name__
    return f"{type(orig).__name__}: {text}"[:300]


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":
            yield
            return
        import fcntl
        with open(f"{path}.migrate-lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
        return
    yield


_LOCK_KEY = 0x7EC1_1001  # pec-intake's migrations


def engine_is_file(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class Database:
    """One engine and its session factory; the schema is brought to head on first use."""

    def __init__(self, url: str, settings: DatabaseSettings | None = None) -> None:
        self.settings = settings or DatabaseSettings()
        self.engine = make_engine(url, self.settings)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._ready = False
        self._lock = threading.Lock()

    def ping(self) -> None:
        """Raises when the database does not answer (``/healthz``)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def _wait_for_database(self) -> None:
        deadline = time.monotonic() + self.settings.retry_seconds
        delay = 0.5
        while True:
            try:
                self.ping()
                return
            except OperationalError as exc:
                if time.monotonic() + delay > deadline:
                    return  # migrate() reports it, with the URL (StorageError)
                if engine_is_file(self.engine):
                    return  # a SQLite file does not come back by waiting
                log.warning("database unreachable, retrying in %.1fs: %s", delay,
                            str(exc.orig or exc).splitlines()[0])
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
            except SQLAlchemyError:
                return  # not a connection problem (a corrupt file...): migrate() says what

    def _connect_with_retry(self, session: Session) -> None:
        """Opens the unit of work's connection; a database that is down or restarting
        is waited for (with backoff, up to ``database.retry_seconds``) instead of failing
        the work at once. A connection lost in the middle of a unit of work rolls it back
        (nothing half-done is kept) and the caller's next attempt comes here."""
        deadline = time.monotonic() + self.settings.retry_seconds
        delay = 0.5
        while True:
            try:
                session.connection()
                return
            except (OperationalError, DBAPIError) as exc:
                if isinstance(exc, DBAPIError) and not isinstance(exc, OperationalError) \
                        and not exc.connection_invalidated:
                    raise
                session.rollback()
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("database unreachable, retrying in %.1fs: %s", delay,
                            str(exc.orig or exc).splitlines()[0])
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def ensure_schema(self, wait: bool = True) -> None:
        with self._lock:  # the daemon's source threads may all start at once
            if not self._ready:
                if wait:
                    self._wait_for_database()
                migrate(self.engine)
                self._ready = True

    @contextmanager
    def session(self, wait: bool = True) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises.
        ``wait=False``: a database that is down fails at once (a health check, a scrape)."""
        self.ensure_schema(wait)
        session = self._sessions()
        try:
            if wait:
                self._connect_with_retry(session)
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
