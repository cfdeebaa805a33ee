"""CLI commands of the review UI (CONTRACT.md, "Review web UI and the people who use it"):
``users add/list/disable/enable``, ``receipts match/dismiss/requeue`` and ``review``.
They call the very functions behind the web UI (``review.users``, ``review.actions``)."""
from __future__ import annotations

import json
import sys

from app.errors import ConfigError
from config.settings import Settings
from review import actions
from review.errors import ReviewError
from review.users import UserError, add_user, list_users, set_disabled
from store.db import Database


def users_add(db: Database, name: str, role: str, password_stdin: bool) -> int:
    if not password_stdin:
        raise ConfigError("users add: give the password on standard input with "
                          "--password-stdin (never as an argument)")
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    try:
        with db.session() as session:
            user = add_user(session, name, role, password)
    except UserError as exc:
        raise ConfigError(f"users add: {exc.reason}") from None
    print(f"user {user.name} added ({user.role})")
    return 0


def users_list(db: Database, as_json: bool) -> int:
    with db.session() as session:
        items = [{"name": u.name, "role": u.role, "disabled": u.disabled}
                 for u in list_users(session)]
    if as_json:
        json.dump(items, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for item in items:
            print(f"{item['name']:24} {item['role']:10} "
                  f"{'disabled' if item['disabled'] else 'active'}")
        if not items:
            print("(no users)")
    return 0


def users_set_disabled(db: Database, name: str, disabled: bool) -> int:
    try:
        with db.session() as session:
            user = set_disabled(session, name, disabled)
    except UserError as exc:
        raise ConfigError(f"users {'disable' if disabled else 'enable'}: {exc.reason}") \
            from None
    print(f"user {user.name} {'disabled: their sessions have ended' if disabled else 'enabled'}")
    return 0


def _run(db: Database, settings: Settings, what: str, action, *args, **kwargs) -> int:  # noqa: ANN001
    ctx = actions.ReviewContext(settings)
    try:
        result = actions.perform(db, action, ctx, *args, **kwargs)
    except ReviewError as exc:
        raise ConfigError(f"receipts {what}: {exc.reason}") from None
    codes = f" ({', '.join(result.order_codes)})" if result.order_codes else ""
    note = f"; {result.note}" if result.note else ""
    print(f"receipt {result.message_id}: {result.status}{codes}{note}")
    return 0


def receipts_match(db: Database, settings: Settings, receipt_id: int, codes: list[str],
                   by: str, reason: str | None) -> int:
    # a script names its orders deliberately: a different amount is recorded, not asked;
    # nothing waits for an undo that a script cannot give
    return _run(db, settings, "match", actions.match, receipt_id, codes, actor=by,
                reason=reason, confirmed=True, undo_seconds=0)


def receipts_dismiss(db: Database, settings: Settings, receipt_id: int, reason: str,
                     by: str) -> int:
    return _run(db, settings, "dismiss", actions.dismiss, receipt_id, actor=by, reason=reason)


def receipts_requeue(db: Database, settings: Settings, receipt_id: int, by: str) -> int:
    return _run(db, settings, "requeue", actions.requeue, receipt_id, actor=by)


def review(settings: Settings, db: Database) -> int:
    from review.web import serve
    db.ensure_schema()
    return serve(settings, db)
