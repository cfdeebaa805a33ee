"""Settings: the TOML file of CONTRACT.md, validated once at start-up.

Every problem is a ``ConfigError`` whose text names the file, the key and the value, so the
CLI can exit 2 with one line. Relative paths in a file resolve against the file's folder; the
embedded defaults' relative paths resolve against the current working directory.
"""
from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from core.errors import ConfigError

SECURITY_MODES = ("none", "starttls", "ssl")
SOURCE_KINDS = ("imap", "folder")


@dataclass(frozen=True)
class SourceSettings:
    name: str
    kind: str
    fax_gateway: bool = False
    # folder
    path: Path | None = None
    # imap
    host: str | None = None
    port: int | None = None
    security: str = "none"
    username: str | None = None
    password: str | None = None
    mailbox: str = "INBOX"
    processed_mailbox: str = "Processed"
    quarantine_mailbox: str = "Quarantine"
    ca_file: Path | None = None
    verify_certificate: bool = True
    poll_seconds: float = 60.0
    # folder: a file is taken once its size and mtime held still this long
    settle_seconds: float = 1.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    security: str = "none"
    sender: str = "amministrazione@example.it"
    username: str | None = None
    password: str | None = None
    retry_seconds: float = 60.0
    max_attempts: int = 10
    timeout_seconds: float = 30.0
    ca_file: Path | None = None
    verify_certificate: bool = True


@dataclass(frozen=True)
class RenewalSettings:
    delay_hours: float = 24.0
    adapter: str = "log"
    max_attempts: int = 5
    retry_seconds: float = 300.0
    http_url: str | None = None
    http_token: str | None = None
    http_timeout_seconds: float = 30.0


PAID_ON = ("proof", "statement", "proof_then_statement")


OCR_SECOND_ENGINE = ("always", "doubtful", "off")


@dataclass(frozen=True)
class OcrSettings:
    """The second OCR engine (PP-OCR) beside Tesseract: on every image page (``always``),
    only where Tesseract's reading is doubtful (``doubtful``), or never (``off``)."""

    second_engine: str = "always"


@dataclass(frozen=True)
class MatchingSettings:
    underpayment_tolerance: Decimal = Decimal("0.00")
    our_ibans: tuple[str, ...] = ("IT62C0326803203052886541770",)
    # pay on the customer's own words (no bank document) when they come from the registered
    # address and quote a CRO/TRN: off by default (README, "Evidence")
    accept_written_claims: bool = False
    # what pays an order: a proof, only the bank's statement line, or a proof that the
    # statement must then confirm within statement_grace_days business days
    paid_on: str = "proof"
    statement_grace_days: int = 5


@dataclass(frozen=True)
class LimitSettings:
    max_message_bytes: int = 50 * 1024 * 1024
    max_attachment_bytes: int = 25 * 1024 * 1024
    max_pages: int = 20
    max_page_pixels: int = 60_000_000
    ocr_seconds_per_page: float = 60.0
    # the wall-clock budget of one message, parse to decision (a many-page fax at the OCR
    # limit per page fits); over it the message is quarantined with the bound named
    message_seconds: float = 600.0
    # what a PDF's non-image streams may inflate to (a 12 KiB stream can inflate to GBs)
    max_pdf_inflated_bytes: int = 64 * 1024 * 1024
    # characters of one document's text that field extraction reads (a receipt is a page
    # or two; a 5 MiB email of text is read in its first part, and says so)
    max_text_chars: int = 256 * 1024


@dataclass(frozen=True)
class ServiceSettings:
    """``[service]``: the daemon's operator surface and its worker processes."""
    host: str = "127.0.0.1"
    metrics_port: int = 9464          # 0: no /healthz, no /metrics
    workers: int = 1                  # processes taking in messages (``run``)
    # how long a worker's claim on a message holds before another may take it over (the
    # worker died); longer than the slowest message takes
    claim_lease_seconds: float = 120.0
    retention_days: float = 0.0       # originals older than this are pruned; 0: kept forever


@dataclass(frozen=True)
class DatabaseSettings:
    """``[database]`` beyond the URL: the connection pool (PostgreSQL) and retries."""
    pool_size: int = 5
    max_overflow: int = 5
    pool_timeout_seconds: float = 30.0
    pool_recycle_seconds: float = 1800.0
    connect_timeout_seconds: float = 10.0
    retry_seconds: float = 60.0       # how long a lost connection is retried before giving up


@dataclass(frozen=True)
class ReviewSettings:
    """The accounting review web UI (``review``)."""

    host: str = "127.0.0.1"
    port: int = 8080
    secret_key_env: str = "PEC_INTAKE_SECRET"
    # a person's match waits this long before its confirmation mail may leave: the undo window
    undo_seconds: float = 30.0
    session_hours: float = 12.0
    lockout_attempts: int = 5
    lockout_minutes: float = 15.0
    page_size: int = 50
    # a receipt whose candidate mailbox expires within this many days is shown first
    urgent_days: int = 14


@dataclass(frozen=True)
class Settings:
    database_url: str
    sources: tuple[SourceSettings, ...]
    outbox_dir: Path
    originals_dir: Path
    smtp: SmtpSettings | None = None
    renewal: RenewalSettings = field(default_factory=RenewalSettings)
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    review: ReviewSettings = field(default_factory=ReviewSettings)
    ocr: OcrSettings = field(default_factory=lambda: OcrSettings())
    sender_name: str = "Amministrazione PEC"
    origin: str = "embedded defaults"
    service: ServiceSettings = field(default_factory=ServiceSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)


# --- schema: section -> key -> (type, required) -------------------------------------------

_STR, _INT, _NUM, _BOOL, _LIST = str, int, float, bool, list

_SCHEMA: dict[str, dict[str, tuple[type, bool]]] = {
    "database": {"url": (_STR, False), "url_env": (_STR, False), "pool_size": (_INT, False),
                 "max_overflow": (_INT, False), "pool_timeout_seconds": (_NUM, False),
                 "pool_recycle_seconds": (_NUM, False),
                 "connect_timeout_seconds": (_NUM, False), "retry_seconds": (_NUM, False)},
    "service": {"host": (_STR, False), "metrics_port": (_INT, False), "workers": (_INT, False),
                "claim_lease_seconds": (_NUM, False), "retention_days": (_NUM, False)},
    "outbox": {"dir": (_STR, False), "sender_name": (_STR, False)},
    "storage": {"originals_dir": (_STR, False)},
    "smtp": {
        "host": (_STR, True), "port": (_INT, False), "security": (_STR, False),
        "sender": (_STR, False), "username": (_STR, False), "password": (_STR, False),
        "password_env": (_STR, False), "retry_seconds": (_NUM, False),
        "max_attempts": (_INT, False), "timeout_seconds": (_NUM, False),
        "ca_file": (_STR, False), "verify_certificate": (_BOOL, False),
    },
    "renewal": {
        "delay_hours": (_NUM, False), "adapter": (_STR, False), "max_attempts": (_INT, False),
        "retry_seconds": (_NUM, False), "http_url": (_STR, False), "http_token": (_STR, False),
        "http_token_env": (_STR, False), "http_timeout_seconds": (_NUM, False),
    },
    "matching": {"underpayment_tolerance": (_STR, False), "our_ibans": (_LIST, False),
                 "accept_written_claims": (_BOOL, False),
                 "paid_on": (_STR, False), "statement_grace_days": (_INT, False)},
    "limits": {
        "max_message_bytes": (_INT, False), "max_attachment_bytes": (_INT, False),
        "max_pages": (_INT, False), "max_page_pixels": (_INT, False),
        "ocr_seconds_per_page": (_NUM, False), "message_seconds": (_NUM, False),
        "max_pdf_inflated_bytes": (_INT, False), "max_text_chars": (_INT, False),
    },
    "ocr": {"second_engine": (_STR, False)},
    "review": {
        "host": (_STR, False), "port": (_INT, False), "secret_key_env": (_STR, False),
        "undo_seconds": (_NUM, False), "session_hours": (_NUM, False),
        "lockout_attempts": (_INT, False), "lockout_minutes": (_NUM, False),
        "page_size": (_INT, False), "urgent_days": (_INT, False),
    },
}

_SOURCE_SCHEMA: dict[str, tuple[type, bool]] = {
    "name": (_STR, True), "kind": (_STR, True), "fax_gateway": (_BOOL, False),
    "path": (_STR, False), "host": (_STR, False), "port": (_INT, False),
    "security": (_STR, False), "username": (_STR, False), "password": (_STR, False),
    "password_env": (_STR, False), "mailbox": (_STR, False),
    "processed_mailbox": (_STR, False), "quarantine_mailbox": (_STR, False),
    "ca_file": (_STR, False), "verify_certificate": (_BOOL, False), "poll_seconds": (_NUM, False),
    "settle_seconds": (_NUM, False),
}

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "a list"}


class _Checker:
    """Validates one parsed TOML document against the schema; every error names its key."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.origin}: {key}: {problem}")

    def table(self, data: Any, where: str, schema: dict[str, tuple[type, bool]]) -> dict:
        if not isinstance(data, dict):
            raise self.fail(where, "must be a table")
        for key in data:
            if key not in schema:
                raise self.fail(f"{where}.{key}", "unknown key")
        for key, (kind, required) in schema.items():
            if key not in data:
                if required:
                    raise self.fail(f"{where}.{key}", "missing required key")
                continue
            self.check_type(f"{where}.{key}", data[key], kind)
        return data

    def check_type(self, key: str, value: Any, kind: type) -> None:
        ok = isinstance(value, kind)
        if kind is int and isinstance(value, bool):
            ok = False
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise self.fail(key, f"expected {_TYPE_NAMES[kind]}, got {value!r}")

    def one_of(self, key: str, value: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(key, f"must be one of {', '.join(allowed)}; got {value!r}")
        return value

    def positive(self, key: str, value: float, allow_zero: bool = True) -> float:
        if not math.isfinite(value):
            raise self.fail(key, f"must be a finite number; got {value!r}")
        if value < 0 or (value == 0 and not allow_zero):
            wanted = "zero or positive" if allow_zero else "positive"
            raise self.fail(key, f"must be {wanted}; got {value!r}")
        return value

    def number(self, key: str, value: Any, low: float, high: float) -> Any:
        """A number people mean: finite and within [low, high] (nan, inf and 1e300 are
        valid TOML floats that would crash, or open, every later computation)."""
        if not math.isfinite(value):
            raise self.fail(key, f"must be a finite number; got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"must be from {_fmt(low)} to {_fmt(high)}; got {value!r}")
        return value


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# The ranges numbers are checked against: (low, high), inclusive.
RANGES: dict[str, tuple[float, float]] = {
    "port": (1, 65535),
    "poll_seconds": (0.1, 86400),
    "smtp.retry_seconds": (0, 86400),
    "smtp.max_attempts": (1, 1000),
    "smtp.timeout_seconds": (1, 600),
    "renewal.delay_hours": (0, 720),
    "renewal.max_attempts": (1, 1000),
    "renewal.retry_seconds": (0, 86400),
    "renewal.http_timeout_seconds": (0.1, 600),
    "limits.max_message_bytes": (1024, 2 ** 31),
    "limits.max_attachment_bytes": (1, 2 ** 31),
    "limits.max_pages": (1, 10000),
    "limits.max_page_pixels": (10_000, 2_000_000_000),
    "limits.ocr_seconds_per_page": (0.01, 3600),
    "limits.message_seconds": (0.5, 86400),
    "limits.max_pdf_inflated_bytes": (1024, 2 ** 34),
    "limits.max_text_chars": (1024, 2 ** 31),
    "settle_seconds": (0, 60),
}
MAX_TOLERANCE = Decimal("5.00")


def _secret(check: _Checker, table: dict, where: str, key: str) -> str | None:
    """A secret is given inline (``key``) or named by an environment variable (``key_env``)."""
    env_key = f"{key}_env"
    if key in table and env_key in table:
        raise check.fail(f"{where}.{key}", f"give either {key} or {env_key}, not both")
    if env_key in table:
        name = table[env_key]
        if name not in os.environ:
            raise check.fail(f"{where}.{env_key}", f"environment variable {name} is not set")
        return os.environ[name]
    return table.get(key)


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path)


def _resolve_db_url(base: Path, url: str) -> str:
    """``sqlite:///relative.db`` resolves against ``base``; other URLs pass unchanged."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        rest = url[len(prefix):]
        if not rest.startswith("/"):
            return prefix + str((base / rest).resolve())
    return url


def _source(check: _Checker, raw: Any, index: int, base: Path) -> SourceSettings:
    where = f"sources[{index}]"
    table = check.table(raw, where, _SOURCE_SCHEMA)
    kind = check.one_of(f"{where}.kind", table["kind"], SOURCE_KINDS)
    common = {"name": table["name"], "kind": kind, "fax_gateway": table.get("fax_gateway", False)}
    if kind == "folder":
        for key in table:
            if key not in ("name", "kind", "fax_gateway", "path", "settle_seconds"):
                raise check.fail(f"{where}.{key}", "not a key of a folder source")
        if "path" not in table:
            raise check.fail(f"{where}.path", "missing required key for a folder source")
        settle = check.number(f"{where}.settle_seconds", table.get("settle_seconds", 1.0),
                              *RANGES["settle_seconds"])
        return SourceSettings(**common, path=_resolve(base, table["path"]),
                              settle_seconds=settle)
    for key in ("host", "username"):
        if key not in table:
            raise check.fail(f"{where}.{key}", "missing required key for an imap source")
    if "path" in table:
        raise check.fail(f"{where}.path", "not a key of an imap source")
    security = check.one_of(f"{where}.security", table.get("security", "none"), SECURITY_MODES)
    default_port = 993 if security == "ssl" else 143
    password = _secret(check, table, where, "password")
    if password is None:
        raise check.fail(f"{where}.password", "missing: give password or password_env")
    port = check.number(f"{where}.port", table.get("port", default_port), *RANGES["port"])
    return SourceSettings(
        **common, host=table["host"], port=port, security=security,
        username=table["username"], password=password, mailbox=table.get("mailbox", "INBOX"),
        processed_mailbox=table.get("processed_mailbox", "Processed"),
        quarantine_mailbox=table.get("quarantine_mailbox", "Quarantine"),
        ca_file=_resolve(base, table["ca_file"]) if "ca_file" in table else None,
        verify_certificate=table.get("verify_certificate", True),
        poll_seconds=check.number(f"{where}.poll_seconds", table.get("poll_seconds", 60.0),
                                  *RANGES["poll_seconds"]),
    )


def _smtp(check: _Checker, table: dict, base: Path) -> SmtpSettings:
    security = check.one_of("smtp.security", table.get("security", "none"), SECURITY_MODES)
    default_port = {"none": 25, "starttls": 587, "ssl": 465}[security]
    def number(key: str, default: float) -> Any:
        return check.number(f"smtp.{key}", table.get(key, default), *RANGES[f"smtp.{key}"])
    return SmtpSettings(
        host=table["host"],
        port=check.number("smtp.port", table.get("port", default_port), *RANGES["port"]),
        security=security,
        sender=table.get("sender", SmtpSettings.sender), username=table.get("username"),
        password=_secret(check, table, "smtp", "password"),
        retry_seconds=number("retry_seconds", 60.0),
        max_attempts=int(number("max_attempts", 10)),
        timeout_seconds=number("timeout_seconds", 30.0),
        ca_file=_resolve(base, table["ca_file"]) if "ca_file" in table else None,
        verify_certificate=table.get("verify_certificate", True),
    )


def _renewal(check: _Checker, table: dict) -> RenewalSettings:
    adapter = check.one_of("renewal.adapter", table.get("adapter", "log"), ("log", "http"))
    if adapter == "http" and "http_url" not in table:
        raise check.fail("renewal.http_url", "missing: required when adapter is \"http\"")
    def number(key: str, default: float) -> Any:
        return check.number(f"renewal.{key}", table.get(key, default),
                            *RANGES[f"renewal.{key}"])
    return RenewalSettings(
        delay_hours=number("delay_hours", 24.0),
        adapter=adapter,
        max_attempts=int(number("max_attempts", 5)),
        retry_seconds=number("retry_seconds", 300.0),
        http_url=table.get("http_url"),
        http_token=_secret(check, table, "renewal", "http_token"),
        http_timeout_seconds=number("http_timeout_seconds", 30.0),
    )


def _matching(check: _Checker, table: dict) -> MatchingSettings:
    raw = table.get("underpayment_tolerance", "0.00")
    key = "matching.underpayment_tolerance"
    try:
        tolerance = Decimal(raw.strip())
    except InvalidOperation:
        raise check.fail(key, f"expected a decimal string such as \"0.50\", got {raw!r}") from None
    if not tolerance.is_finite():
        raise check.fail(key, f"must be a finite amount; got {raw!r}")
    if not Decimal("0") <= tolerance <= MAX_TOLERANCE:
        raise check.fail(key, f"must be from 0.00 to {MAX_TOLERANCE} (euro); got {raw!r}")
    if tolerance != tolerance.quantize(Decimal("0.01")):
        raise check.fail(key, f"must have at most two decimals (cents); got {raw!r}")
    ibans = table.get("our_ibans", list(MatchingSettings.our_ibans))
    if not ibans or not all(isinstance(i, str) for i in ibans):
        raise check.fail("matching.our_ibans", "expected a non-empty list of strings")
    compact = tuple(i.replace(" ", "").upper() for i in ibans)
    for iban in compact:
        if not _valid_iban(iban):
            raise check.fail("matching.our_ibans", f"{iban!r} is not a valid IBAN "
                             "(country, check digits and length)")
    paid_on = check.one_of("matching.paid_on", table.get("paid_on", "proof"), PAID_ON)
    grace = table.get("statement_grace_days", 5)
    if not 0 <= grace <= 365:
        raise check.fail("matching.statement_grace_days",
                         f"must be a whole number of business days from 0 to 365; got {grace!r}")
    return MatchingSettings(underpayment_tolerance=tolerance.quantize(Decimal("0.01")),
                            our_ibans=compact,
                            accept_written_claims=table.get("accept_written_claims", False),
                            paid_on=paid_on, statement_grace_days=grace)


def _valid_iban(value: str) -> bool:
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException
    try:
        IBAN(value)
    except SchwiftyException:
        return False
    return True


def _limits(check: _Checker, table: dict) -> LimitSettings:
    values = {key: check.number(f"limits.{key}", value, *RANGES[f"limits.{key}"])
              for key, value in table.items()}
    return LimitSettings(**values)


def _ocr(check: _Checker, table: dict) -> OcrSettings:
    second = table.get("second_engine", OcrSettings.second_engine)
    if second not in OCR_SECOND_ENGINE:
        raise check.fail("ocr.second_engine", f"must be one of {', '.join(OCR_SECOND_ENGINE)}; "
                                              f"got {second!r}")
    return OcrSettings(second_engine=second)


def _bounded(check: _Checker, key: str, value: float, low: float, high: float) -> float:
    if not (low <= value <= high) or value != value:  # NaN, inf and out of range
        raise check.fail(key, f"must be between {low:g} and {high:g}; got {value!r}")
    return value


def _service(check: _Checker, table: dict) -> ServiceSettings:
    d = ServiceSettings()
    host = table.get("host", d.host)
    if not host.strip():
        raise check.fail("service.host", "must not be empty")
    return ServiceSettings(
        host=host,
        metrics_port=int(_bounded(check, "service.metrics_port",
                                  table.get("metrics_port", d.metrics_port), 0, 65535)),
        workers=int(_bounded(check, "service.workers", table.get("workers", d.workers), 1, 64)),
        claim_lease_seconds=_bounded(check, "service.claim_lease_seconds",
                                     table.get("claim_lease_seconds", d.claim_lease_seconds),
                                     1, 86400),
        retention_days=_bounded(check, "service.retention_days",
                                table.get("retention_days", d.retention_days), 0, 36500),
    )


def _database(check: _Checker, table: dict) -> DatabaseSettings:
    d = DatabaseSettings()

    def get(key: str, low: float, high: float) -> float:
        return _bounded(check, f"database.{key}", table.get(key, getattr(d, key)), low, high)

    return DatabaseSettings(
        pool_size=int(get("pool_size", 1, 1000)), max_overflow=int(get("max_overflow", 0, 1000)),
        pool_timeout_seconds=get("pool_timeout_seconds", 0.1, 3600),
        pool_recycle_seconds=get("pool_recycle_seconds", 1, 86400),
        connect_timeout_seconds=get("connect_timeout_seconds", 0.1, 600),
        retry_seconds=get("retry_seconds", 0, 86400),
    )


DEFAULT_DATABASE_ENV = "PEC_INTAKE_DATABASE_URL"


def default_database_url() -> str:
    """The database when none is configured: ``$PEC_INTAKE_DATABASE_URL`` if set (one
    PostgreSQL for every command of a host, and the test suite's PostgreSQL pass), else
    SQLite in var/."""
    return os.environ.get(DEFAULT_DATABASE_ENV) or "sqlite:///var/intake.sqlite3"


def _review(check: _Checker, table: dict) -> ReviewSettings:
    def number(key: str, low: float, high: float) -> float:
        value = table.get(key, getattr(ReviewSettings, key))
        if not math.isfinite(value) or not low <= value <= high:
            raise check.fail(f"review.{key}", f"must be between {low:g} and {high:g}; "
                                              f"got {value!r}")
        return value
    host = table.get("host", ReviewSettings.host).strip()
    if not host:
        raise check.fail("review.host", "must not be empty")
    return ReviewSettings(
        host=host, port=int(number("port", 1, 65535)),
        secret_key_env=table.get("secret_key_env", ReviewSettings.secret_key_env),
        undo_seconds=number("undo_seconds", 0, 3600),
        session_hours=number("session_hours", 0.01, 24 * 30),
        lockout_attempts=int(number("lockout_attempts", 1, 1000)),
        lockout_minutes=number("lockout_minutes", 0.1, 24 * 60),
        page_size=int(number("page_size", 5, 500)),
        urgent_days=int(number("urgent_days", 0, 365)),
    )


def embedded_defaults(cwd: Path | None = None) -> Settings:
    base = (cwd or Path.cwd()).resolve()
    return Settings(
        database_url=_resolve_db_url(base, default_database_url()),
        sources=(SourceSettings(name="inbox", kind="folder", path=base / "var/inbox"),),
        outbox_dir=base / "var/outbox",
        originals_dir=base / "var/originals",
    )


def parse_settings(data: dict[str, Any], base: Path, origin: str) -> Settings:
    """Validates a parsed TOML document; keys not given take the embedded defaults."""
    check = _Checker(origin)
    for key in data:
        if key not in _SCHEMA and key != "sources":
            raise check.fail(key, "unknown key")
    tables = {name: check.table(data.get(name, {}), name, schema)
              for name, schema in _SCHEMA.items() if name != "smtp"}
    defaults = embedded_defaults(base)

    db = tables["database"]
    url = _secret(check, db, "database", "url") or default_database_url()
    raw_sources = data.get("sources", None)
    if raw_sources is None:
        sources = defaults.sources
    else:
        if not isinstance(raw_sources, list) or not raw_sources:
            raise check.fail("sources", "must be a non-empty array of tables ([[sources]])")
        sources = tuple(_source(check, raw, i, base) for i, raw in enumerate(raw_sources))
        names = [s.name for s in sources]
        for name in names:
            if names.count(name) > 1:
                raise check.fail("sources.name", f"duplicate source name {name!r}")
    smtp = None
    if "smtp" in data:
        smtp = _smtp(check, check.table(data["smtp"], "smtp", _SCHEMA["smtp"]), base)
    outbox = tables["outbox"]
    storage = tables["storage"]
    return Settings(
        database_url=_resolve_db_url(base, url),
        sources=sources,
        outbox_dir=_resolve(base, outbox.get("dir", "var/outbox")),
        originals_dir=_resolve(base, storage.get("originals_dir", "var/originals")),
        smtp=smtp,
        renewal=_renewal(check, tables["renewal"]),
        matching=_matching(check, tables["matching"]),
        limits=_limits(check, tables["limits"]),
        review=_review(check, tables["review"]),
        ocr=_ocr(check, tables["ocr"]),
        sender_name=outbox.get("sender_name", Settings.sender_name),
        origin=origin,
        service=_service(check, tables["service"]),
        database=_database(check, db),
    )


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """``--config PATH``, else ``$PEC_INTAKE_CONFIG``, else the embedded defaults."""
    chosen = path or os.environ.get("PEC_INTAKE_CONFIG") or None
    if chosen is None:
        return embedded_defaults()
    file = Path(chosen)
    try:
        text = file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read configuration file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return parse_settings(data, file.resolve().parent, str(file))
