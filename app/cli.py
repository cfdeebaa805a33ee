"""The command line of CONTRACT.md: ``python run.py [--config PATH] COMMAND ...``."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from app.errors import ConfigError
from config.settings import Settings, load_settings

log = logging.getLogger("pec_intake")


class _Parser(argparse.ArgumentParser):
    """Usage errors are exit 2 with one line on stderr, like configuration errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"usage: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pec-intake", description="Proofs of payment in, paid orders out.")
    parser.add_argument("--config", help="TOML settings file (else $PEC_INTAKE_CONFIG, "
                                         "else the embedded defaults)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("init", help="create or upgrade the database schema")

    orders = commands.add_parser("orders", help="the order book").add_subparsers(
        dest="orders_command", required=True, parser_class=_Parser)
    orders_import = orders.add_parser("import", help="insert or update orders from a CSV")
    orders_import.add_argument("file")
    orders_list = orders.add_parser("list", help="list orders")
    orders_list.add_argument("--json", action="store_true")
    orders_list.add_argument("--status")

    receipts = commands.add_parser("receipts", help="received documents").add_subparsers(
        dest="receipts_command", required=True, parser_class=_Parser)
    receipts_list = receipts.add_parser("list", help="list receipts and their outcome")
    receipts_list.add_argument("--json", action="store_true")
    receipts_list.add_argument("--status")

    extract = commands.add_parser("extract", help="read payment fields from files")
    extract.add_argument("files", nargs="+")
    extract.add_argument("--json", action="store_true")

    poll = commands.add_parser("poll", help="fetch and process every source once")
    poll.add_argument("--once", action="store_true", required=True)

    commands.add_parser("run", help="the daemon: watch sources and run due jobs")
    commands.add_parser("review", help="the accounting review web UI")
    demo = commands.add_parser("demo", help="sample orders and receipts through the pipeline")
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
    except KeyboardInterrupt:
        return 130


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("pdfminer", "PIL", "alembic", "imapclient", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from app import commands
    if args.command == "extract":
        return commands.extract(settings, args.files, as_json=args.json)
    if args.command == "review":
        raise ConfigError("review: the web UI is not part of this version yet")
    db = commands.open_database(settings)
    try:
        if args.command == "init":
            return commands.init(settings, db)
        if args.command == "orders":
            if args.orders_command == "import":
                return commands.orders_import(db, Path(args.file))
            return commands.orders_list(db, args.status, as_json=args.json)
        if args.command == "receipts":
            return commands.receipts_list(db, args.status, as_json=args.json)
        if args.command == "poll":
            return commands.poll_once(settings, db)
        if args.command == "run":
            return commands.run_daemon(settings, db)
    finally:
        db.dispose()
    raise ConfigError(f"usage: unknown command {args.command}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

