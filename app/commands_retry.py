"""``receipts retry ID [--by NAME]``: processes a quarantined or unmatched receipt again from
its kept original, after a fix or once its order is imported. The retry is audited with the
person's name; the new outcome is that of a fresh arrival, decided and applied by the same
pipeline (its effects: paid, renewal and mail queued, exactly once)."""
from __future__ import annotations

from sqlalchemy import delete

from app.errors import ConfigError
from app.pipeline import Pipeline
from config.settings import Settings
from core.status import ReceiptStatus
from intake.message import sniff_kind
from intake.sources import IncomingMessage
from store import audit
from store.db import Database
from store.models import DocumentRow, ExtractionRow, MessageRow
from store.originals import OriginalStore

RETRYABLE = (ReceiptStatus.QUARANTINED, ReceiptStatus.UNMATCHED)


def receipts_retry(settings: Settings, db: Database, pipeline: Pipeline, receipt_id: int,
                   by: str) -> int:
    actor = by if by.startswith("person:") else f"person:{by}"
    with db.session() as session:
        row = session.get(MessageRow, receipt_id)
        if row is None:
            raise ConfigError(f"receipts retry: no receipt {receipt_id}")
        if row.status not in RETRYABLE:
            raise ConfigError(f"receipts retry: receipt {receipt_id} is {row.status}; only "
                              f"{' or '.join(RETRYABLE)} receipts are processed again")
        path = OriginalStore(settings.originals_dir).path_for(row.sha256)
        if not path.exists():
            raise ConfigError(f"receipts retry: receipt {receipt_id}: the original was not "
                              f"kept ({row.reason or 'never read'})")
        raw = path.read_bytes()
        incoming = _incoming(row, raw, settings)
        before = row.status
        # what was read last time is derived data: read again from the original; the
        # earlier decisions stay as the receipt's history
        session.execute(delete(ExtractionRow).where(ExtractionRow.message_id == row.id))
        session.execute(delete(DocumentRow).where(DocumentRow.message_id == row.id))
        row.duplicate_of_id = None
        audit.change(session, row, "status", ReceiptStatus.RECEIVED, actor=actor,
                     reason=f"processed again by {actor[len('person:'):]} "
                     f"(was {before}: {row.reason or '-'})")
        row.reason, row.attempts, row.claimed_by, row.claimed_at = None, 0, None, None
    outcome = pipeline.process(receipt_id, incoming, actor=actor)
    codes = f" ({', '.join(outcome.order_codes)})" if outcome.order_codes else ""
    reason = f": {outcome.reason}" if outcome.reason else ""
    print(f"receipt {receipt_id}: {before} -> {outcome.status}{codes}{reason}")
    return 0


def _incoming(row: MessageRow, raw: bytes, settings: Settings) -> IncomingMessage:
    meta = dict(row.metadata_json or {})
    if "is_mail" in meta:
        is_mail = meta["is_mail"] == "true"
    else:  # recorded before the flag was kept
        is_mail = row.message_id is not None or sniff_kind(raw, row.filename) in ("unknown",
                                                                                  "text")
    fax = meta.get("fax_gateway") == "true" or any(
        s.name == row.source and s.fax_gateway for s in settings.sources)
    return IncomingMessage(source=row.source, key=row.source_ref or str(row.id), raw=raw,
                           filename=row.filename, is_mail=is_mail, fax_gateway=fax,
                           metadata={k: v for k, v in meta.items()
                                     if k in ("uidvalidity", "uid", "mailbox")},
                           identity=row.source_key)
