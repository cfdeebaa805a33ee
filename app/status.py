"""``status [--json]``: the service at a glance, from the database alone."""
from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from config.settings import Settings
from store.db import Database
from store.operations import overview
from store.statements import summary as bank_summary


def collect(settings: Settings, db: Database, wait: bool = True) -> dict[str, Any]:
    try:  # the review UI's kinds of reason, so the queue reads the same in both
        from review.queue import reason_kind
    except ImportError:
        from store.operations import reason_kind
    with db.session(wait=wait) as session:
        data = overview(session, [(s.name, s.kind) for s in settings.sources],
                        datetime.now(UTC), reason_kind)
        data["bank"] = bank_summary(session)  # bank statements: lines, unconfirmed orders
        return data


def status(settings: Settings, db: Database, as_json: bool) -> int:
    data = collect(settings, db)
    if as_json:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(render(data))
    return 0


def render(data: dict[str, Any]) -> str:
    lines = ["sources:"]
    width = max([len(s["name"]) for s in data["sources"]] + [6])
    for s in data["sources"]:
        state = "never polled" if s["last_poll_at"] is None else \
            ("ERROR " + s["last_error"] if s["last_error"] else "ok")
        lines.append(f"  {s['name'].ljust(width)}  last poll {s['last_poll_at'] or '-':32}  "
                     f"{state}")
    q = data["review_queue"]
    lines.append(f"review queue: {q['count']} receipt(s)"
                 + (f", oldest {q['oldest_at']}" if q["oldest_at"] else ""))
    for reason, count in q["by_reason"].items():
        lines.append(f"  {count:5d}  {reason}")
    o, r = data["outbox"], data["renewals"]
    lines.append(f"outbox: {o['queued']} queued, {o['failed']} failed, {o['sent']} sent")
    lines.append(f"renewals: {r['due']} due, {r['failed']} failed, {r['pending']} pending, "
                 f"{r['done']} done")
    statuses = ", ".join(f"{n} {s}" for s, n in data["receipts"]["by_status"].items())
    lines.append(f"receipts: {statuses or 'none'}"
                 + (f"; {data['receipts']['in_flight']} being processed"
                    if data["receipts"]["in_flight"] else ""))
    bank = data.get("bank")
    if bank:
        lines.append(
            f"bank statements: {bank['lines_unmatched']} credit line(s) unmatched "
            f"({bank['unmatched_amount']} EUR), {bank['orders_unconfirmed']} order(s) "
            f"unconfirmed by the bank, {bank['receipts_awaiting_bank']} proof(s) awaiting "
            "the bank; "
            + (f"last import {bank['last_import_file']} at {bank['last_import_at']}"
               if bank["last_import_at"] else "no statement imported"))
    return "\n".join(lines)
