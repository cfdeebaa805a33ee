"""The command line of CONTRACT.md: ``python run.py [--config PATH] COMMAND ...``."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings, load_settings
from core.errors import ConfigError, StorageError
from store.db import one_line

log = logging.getLogger("pec_intake")


class _Parser(argparse.ArgumentParser):
    """Usage errors are exit 2 with one line on stderr, like configuration errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"usage: {message}")


def _common_options(parser: argparse.ArgumentParser, top: bool) -> None:
    # Accepted before the command (CONTRACT.md) and after it, as operators often type them;
    # after the command they only override when given (SUPPRESS).
    parser.add_argument("--config", default=None if top else argparse.SUPPRESS,
                        help="TOML settings file (else $PEC_INTAKE_CONFIG, else the embedded "
                             "defaults)")
    parser.add_argument("--log-level", default="INFO" if top else argparse.SUPPRESS,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pec-intake", description="Proofs of payment in, paid orders out.")
    _common_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def leaf(group, name: str, help_text: str) -> argparse.ArgumentParser:  # noqa: ANN001
        command = group.add_parser(name, help=help_text)
        _common_options(command, top=False)
        return command

    leaf(commands, "init", "create or upgrade the database schema")
    orders = commands.add_parser("orders", help="the order book").add_subparsers(
        dest="orders_command", required=True, parser_class=_Parser)
    leaf(orders, "import", "insert or update orders from a CSV").add_argument("file")
    orders_list = leaf(orders, "list", "list orders")
    orders_list.add_argument("--json", action="store_true")
    orders_list.add_argument("--status")

    receipts = commands.add_parser("receipts", help="received documents").add_subparsers(
        dest="receipts_command", required=True, parser_class=_Parser)
    receipts_list = leaf(receipts, "list", "list receipts and their outcome")
    receipts_list.add_argument("--json", action="store_true")
    receipts_list.add_argument("--status")
    receipts_match = leaf(receipts, "match", "a person's match: receipt ID paid these orders")
    receipts_match.add_argument("id", type=int)
    receipts_match.add_argument("codes", nargs="+")
    receipts_match.add_argument("--by", default="cli")
    receipts_match.add_argument("--reason")
    receipts_dismiss = leaf(receipts, "dismiss", "not a payment: out of the review queue")
    receipts_dismiss.add_argument("id", type=int)
    receipts_dismiss.add_argument("--reason", required=True)
    receipts_dismiss.add_argument("--by", default="cli")
    receipts_requeue = leaf(receipts, "requeue", "back into the review queue")
    receipts_requeue.add_argument("id", type=int)
    receipts_requeue.add_argument("--by", default="cli")
    receipts_retry = leaf(receipts, "retry", "process a quarantined or unmatched receipt "
                          "again from its kept original")
    receipts_retry.add_argument("id", type=int)
    receipts_retry.add_argument("--by", default="cli")

    users = commands.add_parser("users", help="people of the review UI").add_subparsers(
        dest="users_command", required=True, parser_class=_Parser)
    users_add = leaf(users, "add", "create a user (password on standard input)")
    users_add.add_argument("name")
    users_add.add_argument("--role", required=True, choices=["accountant", "viewer"])
    users_add.add_argument("--password-stdin", action="store_true")
    leaf(users, "list", "list users").add_argument("--json", action="store_true")
    leaf(users, "disable", "a disabled user cannot log in").add_argument("name")
    leaf(users, "enable", "allow a disabled user again").add_argument("name")

    statements = commands.add_parser("statements", help="bank statements").add_subparsers(
        dest="statements_command", required=True, parser_class=_Parser)
    leaf(statements, "import", "read bank statements (camt.053/054, MT940, CBI, BancoPosta)"
         ).add_argument("files", nargs="+")
    statements_list = leaf(statements, "list", "list the statements' credit lines")
    statements_list.add_argument("--json", action="store_true")
    statements_list.add_argument("--status")
    statements_match = leaf(statements, "match", "a person's match: bank line ID paid these "
                                                 "orders")
    statements_match.add_argument("id", type=int)
    statements_match.add_argument("codes", nargs="+")
    statements_match.add_argument("--by", default="cli")
    statements_match.add_argument("--reason")
    statements_dismiss = leaf(statements, "dismiss", "not a customer's payment: ignored")
    statements_dismiss.add_argument("id", type=int)
    statements_dismiss.add_argument("--reason", required=True)
    statements_dismiss.add_argument("--by", default="cli")

    extract = leaf(commands, "extract", "read payment fields from files")
    extract.add_argument("files", nargs="+")
    extract.add_argument("--json", action="store_true")

    leaf(commands, "poll", "fetch and process every source once").add_argument(
        "--once", action="store_true", required=True)
    leaf(commands, "run", "the daemon: watch sources and run due jobs")
    leaf(commands, "review", "the accounting review web UI")
    leaf(commands, "status", "the service at a glance").add_argument("--json",
                                                                     action="store_true")
    originals = commands.add_parser("originals", help="the store of original messages"
                                    ).add_subparsers(dest="originals_command", required=True,
                                                     parser_class=_Parser)
    prune = leaf(originals, "prune", "delete originals past service.retention_days")
    prune.add_argument("--days", type=float, default=None, help="instead of the setting")
    prune.add_argument("--dry-run", action="store_true")
    demo = leaf(commands, "demo", "sample orders and receipts through the pipeline")
    demo.add_argument("--dir", default="var/demo", help="working folder (reset each run)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _setup_logging(args.log_level)
        if args.command == "demo":
            from app.demo import run_demo
            return run_demo(Path(args.dir))
        settings = load_settings(args.config)
        return _dispatch(args, settings)
    except ConfigError as exc:
        print(f"pec-intake: {exc.reason}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"pec-intake: {exc.reason}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:  # the database failed mid-command: nothing half-recorded
        log.debug("database error", exc_info=True)
        print(f"pec-intake: database error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `... | head`: the reader has gone, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a full disk, a folder that cannot be written
        log.debug("storage error", exc_info=True)
        where = f" {exc.filename}" if exc.filename else ""
        print(f"pec-intake: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1


class JournalFormatter(logging.Formatter):
    """Under systemd (stderr is the journal: ``$JOURNAL_STREAM``) each line starts with its
    syslog priority, ``<3>`` for an error, which journald records as PRIORITY (so
    ``journalctl -p err`` finds them); the journal adds the time itself."""

    PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4,
                  logging.INFO: 6, logging.DEBUG: 7}

    def format(self, record: logging.LogRecord) -> str:
        priority = self.PRIORITIES.get(record.levelno, 6)
        text = super().format(record)
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def _under_journal() -> bool:
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(x) for x in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if _under_journal():
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JournalFormatter("%(levelname)s %(name)s %(message)s"))
    for noisy in ("pdfminer", "PIL", "alembic", "imapclient", "apscheduler", "mt940"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from app import commands
    if args.command == "extract":
        return commands.extract(settings, args.files, as_json=args.json)
    from app import commands_review as review
    db = commands.open_database(settings, patient=args.command == "run")
    try:
        if args.command == "init":
            return commands.init(settings, db)
        if args.command == "orders":
            if args.orders_command == "import":
                return commands.orders_import(db, Path(args.file))
            return commands.orders_list(db, args.status, as_json=args.json)
        if args.command == "receipts":
            if args.receipts_command == "match":
                return review.receipts_match(db, settings, args.id, args.codes, args.by,
                                             args.reason)
            if args.receipts_command == "dismiss":
                return review.receipts_dismiss(db, settings, args.id, args.reason, args.by)
            if args.receipts_command == "requeue":
                return review.receipts_requeue(db, settings, args.id, args.by)
            if args.receipts_command == "retry":
                from app.commands_retry import receipts_retry
                return receipts_retry(settings, db, commands.pipeline_for(settings, db),
                                      args.id, args.by)
            return commands.receipts_list(db, args.status, as_json=args.json)
        if args.command == "statements":
            from app import commands_statements as cs
            if args.statements_command == "import":
                return cs.statements_import(settings, db, args.files)
            if args.statements_command == "match":
                return cs.statements_match(settings, db, args.id, args.codes, args.by,
                                           args.reason)
            if args.statements_command == "dismiss":
                return cs.statements_dismiss(db, args.id, args.reason, args.by)
            return cs.statements_list(db, args.status, as_json=args.json)
        if args.command == "users":
            if args.users_command == "add":
                return review.users_add(db, args.name, args.role, args.password_stdin)
            if args.users_command == "list":
                return review.users_list(db, as_json=args.json)
            return review.users_set_disabled(db, args.name, args.users_command == "disable")
        if args.command == "review":
            return review.review(settings, db)
        if args.command == "poll":
            return commands.poll_once(settings, db)
        if args.command == "run":
            return commands.run_daemon(settings, db)
        if args.command == "status":
            from app.status import status
            return status(settings, db, as_json=args.json)
        if args.command == "originals":
            from app.commands_ops import prune_originals
            return prune_originals(settings, db, args.days, args.dry_run)
    finally:
        db.dispose()
    raise ConfigError(f"usage: unknown command {args.command}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

