"""The orchestrator: source -> message -> documents -> text -> fields -> decision -> effects.

``poll_once`` reads as the whole story; each step is a call into the stage that owns it.
A message's outcome is committed before the message is moved out of its source, and a
message already recorded (same source and identity) is only moved, never processed again.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import effects
from app import metrics, renewals
from config.settings import Settings
from core.errors import BadMessage, SourceUnreachable
from core.status import ReceiptStatus
from intake.message import ParsedMessage, arrival_facts, parse_incoming
from intake.reading import Reading, read_message
from intake.sources import IncomingMessage, Settlement, open_source
from intake.text import OcrEngine
from matching.decide import (
    MATCHED,
    MatchDecision,
    PriorReceipt,
    decide,
    neighbour_amount,
)
from notifier import outbox
from notifier.transport import FolderTransport, MailTransport, SmtpTransport
from store import audit, operations
from store.db import Database
from store.duplicates import prior_payment
from store.models import (
    DocumentRow,
    ExtractionRow,
    MessageRow,
)
from store.orderbook import (
    OrderNoLongerPending,
    candidate_orders,
)
from store.originals import OriginalStore

log = logging.getLogger("pec_intake.pipeline")

QUARANTINED, PEC_RECEIPT = ReceiptStatus.QUARANTINED, ReceiptStatus.PEC_RECEIPT


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    receipt_id: int
    status: str
    reason: str | None
    order_codes: tuple[str, ...] = ()
    already_known: bool = False
    # another worker holds a live claim on the message: leave it where it is (that worker
    # settles it; if it dies, its claim expires and the message is taken in again)
    deferred: bool = False

    @property
    def settlement(self) -> Settlement:
        return Settlement.QUARANTINED if self.status == QUARANTINED else Settlement.PROCESSED


@dataclass
class PollSummary:
    outcomes: Counter = field(default_factory=Counter)
    already_known: int = 0
    mails_sent: int = 0
    mail_failures: int = 0
    renewals_run: int = 0
    unreachable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        total = sum(self.outcomes.values())
        parts = ", ".join(f"{n} {status}" for status, n in sorted(self.outcomes.items()))
        text = (f"poll: {total} new message(s)" + (f" ({parts})" if parts else "")
                + f"; {self.already_known} already recorded; {self.mails_sent} mail(s) sent"
                + (f", {self.mail_failures} to retry" if self.mail_failures else "")
                + f"; {self.renewals_run} renewal(s) run")
        if self.unreachable:
            text += f"; unreachable: {', '.join(self.unreachable)}"
        return text + f"; {self.seconds:.2f}s"


class Pipeline:
    def __init__(self, settings: Settings, db: Database, *, ocr: OcrEngine | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 transport: MailTransport | None = None) -> None:
        self.settings = settings
        self.db = db
        self.ocr = metrics.TimedOcr(ocr) if ocr is not None else None
        self.clock = clock
        self.originals = OriginalStore(settings.originals_dir)
        self.transport = transport or _default_transport(settings)
        self.worker = operations.worker_id()
        self._heartbeat = ClaimHeartbeat(self)

    # --- the story ------------------------------------------------------------------------

    def poll_once(self) -> PollSummary:
        started = time.monotonic()
        summary = PollSummary()
        for source_settings in self.settings.sources:
            self.poll_source(source_settings, summary)
        summary.renewals_run = self.run_due_renewals()
        summary.mails_sent, summary.mail_failures = self.deliver_mail()
        summary.seconds = time.monotonic() - started
        return summary

    def poll_source(self, source_settings, summary: PollSummary) -> None:  # noqa: ANN001
        taken = 0
        try:
            source = open_source(source_settings, self.settings.limits)
            try:
                for incoming in source.fetch():
                    outcome = self.take_in(incoming)
                    if outcome.deferred:
                        continue
                    try:
                        source.settle(incoming, outcome.settlement)
                    finally:
                        self.settled(incoming)
                    taken += 1
                    if outcome.already_known:
                        summary.already_known += 1
                    else:
                        summary.outcomes[outcome.status] += 1
            finally:
                source.close()
        except SourceUnreachable as exc:
            log.warning("source=%s unreachable: %s", source_settings.name, exc.reason)
            summary.unreachable.append(source_settings.name)
            self.record_poll(source_settings.name, exc.reason, taken)
            return
        self.record_poll(source_settings.name, None, taken)

    def record_poll(self, source: str, error: str | None, taken: int = 0) -> None:
        """The poll's result for ``status``; never in the way of the intake itself."""
        if error is not None:
            metrics.source_error(source)
        try:
            with self.db.session() as session:
                operations.record_poll(session, source, self.clock(), error, taken)
        except Exception:  # noqa: BLE001 - a status row is not worth a failed poll
            log.warning("source=%s poll result not recorded", source, exc_info=True)

    def take_in(self, incoming: IncomingMessage) -> Outcome:
        """Processes one message exactly once and returns its committed outcome.

        The message is claimed first (``store.operations``): the claim lasts until the
        caller has moved it out of its source and called ``settled``, so several workers on
        one mailbox neither process nor move one message twice. A message another live
        worker holds comes back ``deferred``: leave it alone, look again later."""
        started = time.monotonic()
        message_id, _facts = arrival_facts(incoming)
        if not self._claim(incoming):
            log.info("source=%s id=%s claimed by another worker: left to it",
                     incoming.source, incoming.key)
            return Outcome(0, "claimed", None, deferred=True)
        try:
            known = self._take_in_claimed(incoming, message_id)
        except BaseException:
            # the claim stays ours until its lease ends: this worker retries it next time
            self._heartbeat.drop((incoming.source, incoming.stable_id))
            raise
        log.info("source=%s id=%s message_id=%s outcome=%s%s reason=%s took=%.3fs",
                 incoming.source, incoming.key, message_id or "-",
                 known.status + (" (already recorded)" if known.already_known else ""),
                 f" orders={','.join(known.order_codes)}" if known.order_codes else "",
                 known.reason or "-", time.monotonic() - started)
        return known

    def settled(self, incoming: IncomingMessage) -> None:
        """The message has been moved out of its source (or the move failed and is left to
        whoever comes next): its claim ends."""
        self._heartbeat.drop((incoming.source, incoming.stable_id))
        try:
            self._release(incoming)
        except Exception:  # noqa: BLE001 - the lease ends it anyway
            log.warning("source=%s id=%s claim not released", incoming.source, incoming.key,
                        exc_info=True)

    def _take_in_claimed(self, incoming: IncomingMessage, message_id: str | None) -> Outcome:
        known = self._known_outcome(incoming, message_id)
        if known is None:
            self.originals.put(incoming.raw)
            try:
                known = self._process(incoming)
            except (IntegrityError, OrderNoLongerPending):
                # another process recorded this message or paid this order first:
                # what it committed is the truth; re-read or re-decide against it.
                known = self._known_outcome(incoming, message_id) or self._process(incoming)
            if not known.already_known:
                metrics.message_outcome(known.status)
        return known

    def _claim(self, incoming: IncomingMessage) -> bool:
        with self.db.session() as session:
            taken = operations.claim(session, incoming.source, incoming.stable_id,
                                     self.clock(), self.settings.service.claim_lease_seconds,
                                     self.worker)
        if taken:
            self._heartbeat.hold((incoming.source, incoming.stable_id))
        return taken

    def _release(self, incoming: IncomingMessage) -> None:
        with self.db.session() as session:
            operations.release(session, incoming.source, incoming.stable_id)

    def _process(self, incoming: IncomingMessage) -> Outcome:
        with self.db.session() as session:
            receipt = self._record_arrival(session, incoming)
            try:
                parsed = parse_incoming(incoming, self.settings.limits)
            except BadMessage as exc:
                return self._finish(session, receipt, QUARANTINED, exc.reason)
            self._record_headers(receipt, parsed)
            if parsed.kind == PEC_RECEIPT:
                return self._finish(session, receipt, PEC_RECEIPT,
                                    f"PEC system receipt ({parsed.headers.get('X-Ricevuta')}): "
                                    "not a payment")
            reading = read_message(parsed, self.settings.limits, self.ocr)
            self._record_reading(session, receipt, reading)
            if _nothing_to_decide_on(reading):
                status = ReceiptStatus.UNMATCHED if reading.needs_ocr else QUARANTINED
                reason = "; ".join(reading.problems) or "no readable document"
                return self._finish(session, receipt, status, reason)
            decision = self._decide(session, receipt, reading)
            reason = decision.reason
            if decision.outcome != MATCHED and reading.problems:
                reason += "; also: " + "; ".join(reading.problems)  # what the reviewer lacks
            applied = effects.apply_decision(
                session, receipt, decision, settings=self.settings, clock=self.clock,
                amount=reading.fields.amount, reason=reason)
            return Outcome(receipt.id, applied.status, applied.reason, applied.order_codes)

    # --- steps ------------------------------------------------------------------------------

    def _known_outcome(self, incoming: IncomingMessage,
                       message_id: str | None = None) -> Outcome | None:
        """The committed outcome of this arrival: by (source, identity), or, for a mailbox
        (identity "<UIDVALIDITY>:<UID>"), by Message-ID + content hash, so a message seen
        again under a new UIDVALIDITY (mailbox rebuilt, restored) is not processed twice."""
        with self.db.session() as session:
            row = session.scalar(select(MessageRow).where(
                MessageRow.source == incoming.source,
                MessageRow.source_key == incoming.stable_id))
            if row is None and message_id and "uidvalidity" in incoming.metadata:
                row = session.scalars(select(MessageRow).where(
                    MessageRow.source == incoming.source,
                    MessageRow.sha256 == self.originals_digest(incoming),
                    MessageRow.message_id == message_id).order_by(MessageRow.id)).first()
            if row is None:
                return None
            codes = tuple(link.order.code for link in row.orders)
            return Outcome(row.id, row.status, row.reason, codes, already_known=True)

    def _record_arrival(self, session: Session, incoming: IncomingMessage) -> MessageRow:
        # Message-ID and the PEC/fax facts are recorded at arrival, so even a message that
        # cannot be parsed later is recognised by Message-ID + hash (see _known_outcome).
        message_id, facts = arrival_facts(incoming)
        receipt = MessageRow(
            source=incoming.source, source_key=incoming.stable_id, source_ref=incoming.key,
            sha256=self.originals_digest(incoming), size=len(incoming.raw),
            filename=incoming.filename, status=ReceiptStatus.RECEIVED, received_at=self.clock(),
            message_id=message_id, metadata_json={**incoming.metadata, **facts} or None,
        )
        session.add(receipt)
        session.flush()  # raises IntegrityError if another process recorded it first
        audit.record(session, receipt, "status", ReceiptStatus.RECEIVED,
                     reason=f"taken in from {incoming.source} ({incoming.key})")
        return receipt

    @staticmethod
    def originals_digest(incoming: IncomingMessage) -> str:
        return hashlib.sha256(incoming.raw).hexdigest()

    @staticmethod
    def _record_headers(receipt: MessageRow, parsed: ParsedMessage) -> None:
        receipt.message_id = parsed.message_id
        receipt.sender = parsed.sender
        receipt.certified_sender = parsed.certified_sender
        receipt.subject = parsed.subject
        receipt.sent_at = parsed.date if parsed.date and parsed.date.tzinfo else None
        receipt.kind = parsed.kind
        receipt.filename = parsed.main_filename or receipt.filename
        if parsed.kind == "payment" and not parsed.main_filename and parsed.documents:
            receipt.filename = None  # a body-only email has no main document

    def _record_reading(self, session: Session, receipt: MessageRow, reading: Reading) -> None:
        for doc_reading in reading.documents:
            doc = doc_reading.document
            doc_row = DocumentRow(
                message_id=receipt.id, filename=doc.filename, content_type=doc.content_type,
                kind=doc.kind, origin=doc.origin, sha256=doc.sha256, size=len(doc.data),
                text_source=doc_reading.text.source if doc_reading.text else None,
                text=doc_reading.text.text if doc_reading.text else None,
                error=doc_reading.error)
            session.add(doc_row)
            session.flush()
            if doc_reading.fields is not None:
                session.add(_extraction_row(receipt.id, doc_row.id, doc_reading.fields,
                                            doc_row.text_source))
        session.add(_extraction_row(receipt.id, None, reading.fields, reading.text_source))
        receipt.text_source = reading.text_source

    def _decide(self, session: Session, receipt: MessageRow, reading: Reading) -> MatchDecision:
        fields = reading.fields
        # a fax gateway's sender is the gateway, not the customer
        fax = any(s.name == receipt.source and s.fax_gateway for s in self.settings.sources)
        sender, certified = (None, None) if fax else (receipt.sender, receipt.certified_sender)
        orders = candidate_orders(session, fields.codes, (sender, certified),
                                  neighbour_amount(fields, reading.text_source))
        prior = self._prior_receipt(session, receipt, reading)
        matching = self.settings.matching
        decision = decide(fields, orders, matching.our_ibans, prior, sender=sender,
                          certified_sender=certified, today=self.clock().date(),
                          tolerance=matching.underpayment_tolerance,
                          text_source=reading.text_source)
        metrics.match_outcome(decision.outcome)
        return decision

    def _prior_receipt(self, session: Session, receipt: MessageRow,
                       reading: Reading) -> PriorReceipt | None:
        """An earlier recorded payment: same bytes, document, CRO/TRN, or details."""
        doc_hashes = [d.document.sha256 for d in reading.documents
                      if d.document.origin != "body"]
        return prior_payment(session, receipt.id, receipt.sha256, doc_hashes, reading.fields)

    def _finish(self, session: Session, receipt: MessageRow, status: str,
                reason: str | None) -> Outcome:
        effects.finish_receipt(session, receipt, status, reason, clock=self.clock)
        return Outcome(receipt.id, status, receipt.reason)

    # --- due jobs ----------------------------------------------------------------------------

    def run_due_renewals(self) -> int:
        return renewals.run_due(self.db, self.settings, self.clock())

    def deliver_mail(self) -> tuple[int, int]:
        smtp = self.settings.smtp
        policy = outbox.DeliveryPolicy(
            sender=self._sender(), sender_name=self.settings.sender_name,
            retry_seconds=smtp.retry_seconds if smtp else 60.0,
            max_attempts=smtp.max_attempts if smtp else 10,
            # a claimed mail is left alone this long: longer than one SMTP conversation
            lease_seconds=max(300.0, 10 * smtp.timeout_seconds) if smtp else 300.0)
        return outbox.deliver_due(self.db.session, self.transport, policy, self.clock())

    def _sender(self) -> str:
        return outbox.sender_address(self.settings)


class ClaimHeartbeat:
    """Renews the leases of the claims this process holds, every third of a lease, so a
    long message (pages of OCR) keeps its claim while a dead worker's expires."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.held: set[tuple[str, str]] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def hold(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.held.add(key)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._loop, name="claim-heartbeat",
                                               daemon=True)
                self.thread.start()

    def drop(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.held.discard(key)

    def _loop(self) -> None:
        lease = self.pipeline.settings.service.claim_lease_seconds
        while True:
            time.sleep(max(lease / 3, 0.5))
            with self.lock:
                keys = sorted(self.held)
            if not keys:
                continue
            try:
                with self.pipeline.db.session() as session:
                    operations.renew(session, keys, self.pipeline.clock(), lease,
                                     self.pipeline.worker)
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.warning("claim leases not renewed", exc_info=True)


def _nothing_to_decide_on(reading: Reading) -> bool:
    """No document could be read, or every attachment failed (corrupt, encrypted, over a
    limit) and the body says neither a code nor an amount ('in allegato la ricevuta'): the
    message is then quarantined (or awaits OCR) with the documents' reasons, instead of
    going to review as if it had said nothing."""
    if not reading.readable:
        return True
    attachments = [d for d in reading.documents if d.document.origin != "body"]
    return bool(attachments) and all(d.error for d in attachments) \
        and not reading.fields.codes and reading.fields.amount is None


def _default_transport(settings: Settings) -> MailTransport:
    if settings.smtp is not None:
        return SmtpTransport(settings.smtp)
    return FolderTransport(settings.outbox_dir)


def _extraction_row(message_id: int, document_id: int | None, fields, source) -> ExtractionRow:  # noqa: ANN001
    return ExtractionRow(
        message_id=message_id, document_id=document_id, codes=list(fields.codes),
        amount=fields.amount, currency=fields.currency, iban=fields.iban,
        transfer_ref=fields.transfer_ref, payment_date=fields.payment_date, payer=fields.payer,
        method=fields.method, text_source=source,
        evidence={name: {"snippet": ev.snippet, "line": ev.line, "confidence": ev.confidence}
                  for name, ev in fields.evidence.items()} or None)
