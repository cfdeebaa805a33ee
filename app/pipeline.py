"""The orchestrator: source -> message -> documents -> text -> fields -> decision -> effects.

``poll_once`` reads as the whole story; each step is a call into the stage that owns it.
A message's outcome is committed before the message is moved out of its source, and a
message already recorded (same source and identity) is only moved, never processed again.
"""
from __future__ import annotations

import hashlib
import logging
import os
import queue
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

import effects
from app import metrics, renewals
from app import statements as bank
from config.settings import Settings
from core.errors import BadMessage, Deadline, IntakeError, OverBudget, SourceUnreachable
from core.status import ReceiptStatus
from intake.message import ParsedMessage, message_facts, parse_incoming, peek_message_id
from intake.reading import Reading, read_message, second_opinion
from intake.sources import IncomingMessage, Settlement, Source, open_source
from intake.sources.base import Reserve
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
    orders_for_mailboxes,
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
    in_progress: bool = False  # another process is processing it: leave it in the source

    @property
    def deferred(self) -> bool:
        """Another worker holds the message: leave it where it is (it settles it; if it
        dies, its claim lapses and the message is taken in again)."""
        return self.in_progress

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
    failed: list[str] = field(default_factory=list)  # a bug while fetching (logged)
    seconds: float = 0.0
    taken: int = 0  # messages taken in and moved out of their source
    deferred: bool = False  # some are another worker's: look again soon

    def line(self) -> str:
        total = sum(self.outcomes.values())
        parts = ", ".join(f"{n} {status}" for status, n in sorted(self.outcomes.items()))
        text = (f"poll: {total} new message(s)" + (f" ({parts})" if parts else "")
                + f"; {self.already_known} already recorded; {self.mails_sent} mail(s) sent"
                + (f", {self.mail_failures} to retry" if self.mail_failures else "")
                + f"; {self.renewals_run} renewal(s) run")
        if self.unreachable:
            text += f"; unreachable: {', '.join(self.unreachable)}"
        if self.failed:
            text += f"; failed (see the log): {', '.join(self.failed)}"
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
        self._holds = db.engine.dialect.name != "sqlite" or settings.service.workers > 1
        self._reserved: set[tuple[str, str]] = set()  # held by a batch's reservation
        # held, their processing raised: kept until the lease ends
        self._failed: set[tuple[str, str]] = set()

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
        before = summary.taken
        try:
            source = open_source(source_settings, self.settings.limits)
            try:
                self.drain(source, summary)
            finally:
                source.close()
        except SourceUnreachable as exc:
            log.warning("source=%s unreachable: %s", source_settings.name, exc.reason)
            summary.unreachable.append(source_settings.name)
            self.record_poll(source_settings.name, exc.reason, summary.taken - before)
            return
        except (OperationalError, DisconnectionError):
            raise  # the database: nothing can be recorded for any source
        except Exception:  # noqa: BLE001 - a bug in one source's code: the others go on
            log.exception("source=%s: internal error while fetching", source_settings.name)
            summary.failed.append(source_settings.name)
            self.record_poll(source_settings.name, "internal error while fetching",
                             summary.taken - before)
            return
        self.record_poll(source_settings.name, None, summary.taken - before)

    def drain(self, source: Source, summary: PollSummary,
              stop: threading.Event | None = None) -> PollSummary:
        """Takes in what ``source`` has waiting, a batch at a time: each message's outcome
        committed (``take_in``), then the batch's messages moved out of the source in one
        go (never before their outcomes are committed), then this worker's holds on them
        released. ``stop`` set: the message in hand is finished, its batch settled."""
        pending: set[str] = set()  # reserved, not yet settled
        reserve = self._reserver(source.name, summary, pending) if self._holds else None
        try:
            self._drain(source, reserve, pending, summary, stop)
        except BaseException:
            # a batch reserved but never handed over (its download failed): let it go now
            # rather than keep renewing it while this worker waits for the source
            orphans = [k for k in pending if (source.name, k) not in self._failed]
            if orphans:
                self._release(source.name, orphans)
            raise
        return summary

    def _drain(self, source: Source, reserve: Reserve | None, pending: set[str],
               summary: PollSummary, stop: threading.Event | None) -> None:
        for batch in source.batches(reserve):
            done: list[tuple[IncomingMessage, Outcome]] = []
            failed: IncomingMessage | None = None
            try:
                for incoming in batch:
                    if stop is not None and stop.is_set():
                        break
                    failed = incoming
                    outcome = self.take_in(incoming)
                    failed = None
                    if outcome.in_progress:
                        summary.deferred = True  # its process settles it; look again soon
                        continue
                    done.append((incoming, outcome))
            finally:
                try:
                    if done:
                        source.settle_many([(i, o.settlement) for i, o in done])
                finally:
                    # a message whose processing raised stays held until its lease ends
                    if failed is not None:
                        self._failed.add((failed.source, failed.stable_id))
                    settled = [i for i in batch if i is not failed]
                    pending.difference_update(i.stable_id for i in settled)
                    self.settled_many(settled)
            for _incoming, outcome in done:
                summary.taken += 1
                if outcome.already_known:
                    summary.already_known += 1
                else:
                    summary.outcomes[outcome.status] += 1
            if stop is not None and stop.is_set():
                break

    def record_poll(self, source: str, error: str | None, taken: int = 0) -> None:
        """The poll's result for ``status``; never in the way of the intake itself."""
        if error is not None:
            metrics.source_error(source)
        try:
            with self.db.session() as session:
                operations.record_poll(session, source, self.clock(), error, taken)
        except Exception:  # noqa: BLE001 - a status row is not worth a failed poll
            log.warning("source=%s poll result not recorded", source, exc_info=True)

    def settled(self, incoming: IncomingMessage) -> None:
        """The message has been moved out of its source (or the move failed and is left to
        whoever comes next): this worker's hold on it ends."""
        self.settled_many([incoming])

    def settled_many(self, messages: list[IncomingMessage]) -> None:
        """``settled`` for a batch, in one transaction."""
        keys: dict[str, list[str]] = {}
        for incoming in messages:
            key = (incoming.source, incoming.stable_id)
            self._heartbeat.drop(key)
            self._reserved.discard(key)
            keys.setdefault(incoming.source, []).append(incoming.stable_id)
        if not self._holds:
            return
        for source, source_keys in keys.items():
            self._release(source, source_keys)

    def _release(self, source: str, source_keys: list[str]) -> None:
        for key in source_keys:
            self._heartbeat.drop((source, key))
            self._reserved.discard((source, key))
            self._failed.discard((source, key))
        try:
            with self.db.session() as session:
                operations.release(session, source, source_keys)
        except Exception:  # noqa: BLE001 - the lease ends it anyway
            log.warning("source=%s holds of %d message(s) not released", source,
                        len(source_keys), exc_info=True)

    def _reserver(self, source: str, summary: PollSummary,
                  pending: set[str]) -> Reserve | None:
        """Holds a whole batch in one transaction before it is downloaded, so several
        workers on one mailbox take disjoint batches (SQLite and PostgreSQL; elsewhere
        each message is held on its own as it is taken in)."""
        if self.db.engine.dialect.name not in ("sqlite", "postgresql"):
            return None

        def reserve(source_keys: list[str]) -> set[str]:
            with self.db.session() as session:
                granted = operations.claim_many(
                    session, source, source_keys, self.clock(),
                    self.settings.service.claim_lease_seconds, self.worker)
            pending.update(granted)
            for key in granted:
                self._reserved.add((source, key))
                self._heartbeat.hold((source, key))
            if len(granted) < len(set(source_keys)):
                summary.deferred = True  # another worker's: if it dies, its holds lapse
            return granted
        return reserve

    def _hold(self, incoming: IncomingMessage) -> bool:
        """Several workers on one mailbox: a worker holds a message from before it is read
        until it has been moved out of the source (``settled``), so no two workers process
        or move one message. False when another live worker holds it.

        Not for a single worker on SQLite (one machine, one process): the per-attempt claim
        already keeps a message to it, and the two commits a hold costs are two fsyncs per
        message there."""
        if not self._holds or (incoming.source, incoming.stable_id) in self._reserved:
            return True
        with self.db.session() as session:
            taken = operations.claim(session, incoming.source, incoming.stable_id,
                                     self.clock(), self.settings.service.claim_lease_seconds,
                                     self.worker)
        if taken:
            self._heartbeat.hold((incoming.source, incoming.stable_id))
        return taken

    def take_in(self, incoming: IncomingMessage) -> Outcome:
        """Processes one message exactly once and returns its committed outcome.

        1. the arrival (original kept, a ``received`` row) is committed before anything
           reads the message;
        2. each attempt is counted and claimed (committed) before it starts: after
           ``MAX_INTERRUPTED`` attempts that never finished (the process was killed, ran
           out of memory) the message is quarantined instead of tried for ever;
        3. parse, read, extract, decide and apply run with a wall-clock budget; any
           unexpected exception rolls back to the arrival and quarantines the message with
           ``internal error in <stage>: <Type>: <message>`` (traceback in the log).
        Only database failures (disk full, database gone) escape: nothing can be recorded
        then, and the message stays in its source for the next poll."""
        started = time.monotonic()
        message_id = peek_message_id(incoming)
        if not self._hold(incoming):
            log.info("source=%s id=%s held by another worker: left to it", incoming.source,
                     incoming.key)
            return Outcome(0, ReceiptStatus.RECEIVED, "held by another worker",
                           already_known=True, in_progress=True)
        try:
            outcome = self._take_in(incoming, message_id)
        except BaseException:
            # the hold stays this worker's until its lease ends: retried here next time
            self._heartbeat.drop((incoming.source, incoming.stable_id))
            raise
        if not outcome.already_known:
            metrics.message_outcome(outcome.status)
        log.info("source=%s id=%s message_id=%s receipt=%s outcome=%s%s reason=%s took=%.3fs",
                 incoming.source, incoming.key, message_id or "-", outcome.receipt_id,
                 outcome.status + (" (already recorded)" if outcome.already_known else ""),
                 f" orders={','.join(outcome.order_codes)}" if outcome.order_codes else "",
                 outcome.reason or "-", time.monotonic() - started)
        return outcome

    def _take_in(self, incoming: IncomingMessage, message_id: str | None) -> Outcome:
        known = self._known(incoming, message_id)
        claim: int | None = None
        if known is None:
            self.originals.put(incoming.raw)
            try:
                receipt_id = self._record_arrival(incoming, message_id)
                claim = 1  # the arrival's transaction claimed the first attempt
            except IntegrityError:  # another process recorded this arrival first
                known = self._known(incoming, message_id)
                if known is None:
                    raise
        if known is not None:
            if known.status != ReceiptStatus.RECEIVED:
                return known
            receipt_id = known.receipt_id
            claim = self._claim(receipt_id)
        if claim is None:  # another live process is on it: its outcome will be committed
            return Outcome(receipt_id, ReceiptStatus.RECEIVED, "being processed elsewhere",
                           already_known=True, in_progress=True)
        if claim > MAX_INTERRUPTED:
            return self._quarantine(receipt_id, (
                f"processing was interrupted {claim - 1} times (killed or out of memory) "
                "before it could finish: not tried again automatically; "
                f"`receipts retry {receipt_id}` processes it again"))
        return self.process(receipt_id, incoming)

    def process(self, receipt_id: int, incoming: IncomingMessage, *,
                actor: str = effects.DAEMON) -> Outcome:
        """One processing attempt of an arrival already recorded (by ``take_in``, or by
        ``receipts retry`` from the kept original): a committed outcome, whatever happens."""
        progress = _Progress()
        deadline = Deadline(self.settings.limits.message_seconds)
        try:
            for _ in range(3):
                try:
                    return self._attempt(receipt_id, incoming, progress, deadline, actor)
                except OrderNoLongerPending:
                    # another process (a person, a statement) paid an order first: what it
                    # committed is the truth; decide again against it
                    progress.stage = "decide"
            raise RuntimeError("orders kept changing under the decision")
        except IntakeError as exc:  # over the budget, a message that cannot be parsed
            return self._quarantine(receipt_id, exc.reason, actor=actor)
        except (OperationalError, DisconnectionError):
            raise  # the database itself: nothing can be recorded; the message stays
        except Exception as exc:  # noqa: BLE001 - a bug of ours must not block the source
            log.exception("receipt=%s source=%s id=%s: internal error in %s", receipt_id,
                          incoming.source, incoming.key, progress.stage)
            return self._quarantine(receipt_id, internal_error(progress.stage, exc),
                                    actor=actor)

    def _attempt(self, receipt_id: int, incoming: IncomingMessage, progress: _Progress,
                 deadline: Deadline, actor: str) -> Outcome:
        parsed, reading = self._read(incoming, progress, deadline)
        with self.db.session() as session:
            receipt = session.get(MessageRow, receipt_id)
            progress.stage = "record"
            if isinstance(parsed, BadMessage):
                self._record_facts(receipt, getattr(parsed, "facts", {}))
                return self._finish(session, receipt, QUARANTINED, parsed.reason, actor)
            self._record_headers(receipt, parsed)
            if parsed.kind == PEC_RECEIPT:
                return self._finish(session, receipt, PEC_RECEIPT,
                                    f"PEC system receipt ({parsed.headers.get('X-Ricevuta')}): "
                                    "not a payment", actor)
            self._record_reading(session, receipt, reading)
            if _nothing_to_decide_on(reading):
                status = ReceiptStatus.UNMATCHED if reading.needs_ocr else QUARANTINED
                reason = "; ".join(reading.problems) or "no readable document"
                return self._finish(session, receipt, status, reason, actor)
            progress.stage = "decide"
            deadline.check("decide")
            decision = self._decide(session, receipt, reading, deadline, progress)
            # paid_on = "statement": a proof that would pay waits for the bank's line
            decision = bank.gate(session, self.settings, reading.fields, decision)
            reason = decision.reason
            if decision.outcome != MATCHED and reading.problems:
                reason += "; also: " + "; ".join(reading.problems)  # what the reviewer lacks
            progress.stage = "apply"
            applied = effects.apply_decision(
                session, receipt, decision, settings=self.settings, clock=self.clock,
                amount=reading.fields.amount, reason=reason, actor=actor)
            # the bank's lines of this payment, already imported, are joined to the proof
            bank.after_proof(session, receipt, reading.fields, decision, self.clock(),
                             self.settings.matching.our_ibans)
            receipt.claimed_by = receipt.claimed_at = None
            progress.stage = "commit"
            outcome = Outcome(receipt.id, applied.status, applied.reason, applied.order_codes)
        return outcome

    def _read(self, incoming: IncomingMessage, progress: _Progress,
              deadline: Deadline) -> tuple[ParsedMessage | BadMessage, Reading | None]:
        """Parse, read and extract: pure work, no database, in a worker thread so a stage
        stuck inside one call (a library that loops) is given up on at the deadline; the
        message is then quarantined with the bound named. Expected failures come back as
        values; unexpected ones are raised here with ``progress.stage`` naming the stage."""
        def work() -> tuple[ParsedMessage | BadMessage, Reading | None]:
            progress.stage = "parse"
            try:
                parsed = parse_incoming(incoming, self.settings.limits)
            except BadMessage as exc:
                return exc, None
            if parsed.kind == PEC_RECEIPT:
                return parsed, None
            return parsed, read_message(parsed, self.settings.limits, self.ocr,
                                        deadline=deadline, on_stage=progress.enter)
        return _with_watchdog(work, deadline, progress)

    def _known(self, incoming: IncomingMessage,
               message_id: str | None = None) -> Outcome | None:
        """The recorded arrival: by (source, identity), or, for a mailbox (identity
        "<UIDVALIDITY>:<UID>"), by Message-ID + content hash, so a message seen again under
        a new UIDVALIDITY (mailbox rebuilt, restored) is not processed twice."""
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

    def _record_arrival(self, incoming: IncomingMessage, message_id: str | None) -> int:
        """The arrival, committed on its own: the row every later step works on, with its
        first processing attempt counted and claimed by this process (one commit, not
        two: see ``_claim``). The Message-ID is read from the header block, so even a
        message that cannot be parsed is recognised again by Message-ID + hash
        (see ``_known``)."""
        meta = {**incoming.metadata, "is_mail": str(incoming.is_mail).lower()}
        if incoming.fax_gateway:
            meta["fax_gateway"] = "true"
        now = self.clock()
        with self.db.session() as session:
            receipt = MessageRow(
                source=incoming.source, source_key=incoming.stable_id,
                source_ref=incoming.key, sha256=self.originals_digest(incoming),
                size=len(incoming.raw), filename=_text(incoming.filename),
                status=ReceiptStatus.RECEIVED, received_at=now,
                message_id=_text(message_id), metadata_json=meta, attempts=1,
                claimed_by=_WORKER, claimed_at=now)
            session.add(receipt)
            session.flush()  # raises IntegrityError if another process recorded it first
            audit.record(session, receipt, "status", ReceiptStatus.RECEIVED,
                         reason=f"taken in from {incoming.source} ({_text(incoming.key)})")
            return receipt.id

    def _claim(self, receipt_id: int) -> int | None:
        """Counts and claims one processing attempt (committed before it starts); the
        attempt's number, or None while another live process holds the claim."""
        with self.db.session() as session:
            row = session.get(MessageRow, receipt_id)
            if row.status != ReceiptStatus.RECEIVED or _claim_is_live(row, self.clock(),
                                                                      self._lease()):
                return None
            taken = session.execute(
                update(MessageRow).where(MessageRow.id == receipt_id,
                                         MessageRow.attempts == row.attempts,
                                         MessageRow.status == ReceiptStatus.RECEIVED)
                .values(attempts=row.attempts + 1, claimed_by=_WORKER,
                        claimed_at=self.clock())
                .execution_options(synchronize_session=False))
            return row.attempts + 1 if taken.rowcount == 1 else None

    def _lease(self) -> float:
        return self.settings.limits.message_seconds + 120.0

    def _quarantine(self, receipt_id: int, reason: str, *, actor: str = effects.DAEMON
                    ) -> Outcome:
        """The outcome of a message that could not be processed, in a transaction of its
        own (the attempt's work, if any, was rolled back)."""
        with self.db.session() as session:
            receipt = session.get(MessageRow, receipt_id)
            return self._finish(session, receipt, QUARANTINED, reason, actor)

    @staticmethod
    def _record_facts(receipt: MessageRow, facts: dict[str, str]) -> None:
        if facts:
            receipt.metadata_json = {**(receipt.metadata_json or {}), **facts}

    @staticmethod
    def originals_digest(incoming: IncomingMessage) -> str:
        return hashlib.sha256(incoming.raw).hexdigest()

    @classmethod
    def _record_headers(cls, receipt: MessageRow, parsed: ParsedMessage) -> None:
        cls._record_facts(receipt, {**message_facts(parsed),
                                    "automatic": str(parsed.automatic).lower()})
        receipt.message_id = _text(parsed.message_id)
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

    def _decide(self, session: Session, receipt: MessageRow, reading: Reading,
                deadline: Deadline, progress: _Progress) -> MatchDecision:
        """The look-ups here, the pure decision under the watchdog (it touches no session)."""
        fields = reading.fields
        # a fax gateway's sender is the gateway, not the customer
        fax = any(s.name == receipt.source and s.fax_gateway for s in self.settings.sources)
        sender, certified = (None, None) if fax else (receipt.sender, receipt.certified_sender)
        orders = self._candidates(session, reading, (sender, certified))
        if _codes_name_no_order(reading, orders) and second_opinion(
                reading, self.settings.limits, self.ocr):
            # a code naming no order may be Tesseract's misread: PP-OCR reads the page too
            self._record_second_reading(session, receipt, reading)
            fields = reading.fields
            orders = self._candidates(session, reading, (sender, certified))
        prior = self._prior_receipt(session, receipt, reading)
        matching = self.settings.matching
        today = self.clock().date()
        decision = _with_watchdog(lambda: decide(
            fields, orders, matching.our_ibans, prior, sender=sender,
            certified_sender=certified, today=today,
            tolerance=matching.underpayment_tolerance, text_source=reading.text_source,
            evidence=reading.evidence, accept_written_claims=matching.accept_written_claims),
            deadline, progress)
        metrics.match_outcome(decision.outcome)
        return decision

    @staticmethod
    def _candidates(session: Session, reading: Reading,
                    senders: tuple[str | None, str | None]) -> dict:
        fields = reading.fields
        orders = candidate_orders(session, fields.codes, senders,
                                  neighbour_amount(fields, reading.text_source))
        orders.update(orders_for_mailboxes(session, fields.mailboxes))
        return orders

    @staticmethod
    def _record_second_reading(session: Session, receipt: MessageRow,
                               reading: Reading) -> None:
        """The message's combined fields, as the second engine's reading changed them."""
        fresh = _extraction_row(receipt.id, None, reading.fields, reading.text_source)
        row = session.scalar(select(ExtractionRow).where(
            ExtractionRow.message_id == receipt.id, ExtractionRow.document_id.is_(None)))
        if row is None:
            session.add(fresh)
            return
        for name in ("codes", "amount", "currency", "iban", "transfer_ref", "payment_date",
                     "payer", "method", "evidence"):
            setattr(row, name, getattr(fresh, name))

    def _prior_receipt(self, session: Session, receipt: MessageRow,
                       reading: Reading) -> PriorReceipt | None:
        """An earlier recorded payment: same bytes, the same document the payment was read
        from (never a logo or a signature image), CRO/TRN, or details."""
        doc_hashes = [d.document.sha256 for d in reading.payment_documents]
        return prior_payment(session, receipt.id, receipt.sha256, doc_hashes, reading.fields) \
            or bank.prior_line(session, reading.fields, self.settings.matching.our_ibans)

    def _finish(self, session: Session, receipt: MessageRow, status: str,
                reason: str | None, actor: str = effects.DAEMON) -> Outcome:
        effects.finish_receipt(session, receipt, status, reason, clock=self.clock, actor=actor)
        receipt.claimed_by = receipt.claimed_at = None
        return Outcome(receipt.id, status, receipt.reason)

    # --- due jobs ----------------------------------------------------------------------------

    def run_due_renewals(self) -> int:
        try:
            with self.db.session() as session:  # paid_on = proof_then_statement: due flags
                bank.flag_unconfirmed(session, self.settings, self.clock())
        except Exception:  # a bug of ours here must not stop renewals or the daemon
            log.exception("checking bank confirmations failed; renewals go on")
        return renewals.run_due(self.db, self.settings, self.clock())

    def deliver_mail(self) -> tuple[int, int]:
        smtp = self.settings.smtp
        policy = outbox.DeliveryPolicy(
            sender=self._sender(), sender_name=self.settings.sender_name,
            retry_seconds=smtp.retry_seconds if smtp else 60.0,
            max_attempts=smtp.max_attempts if smtp else 10,
            # a claimed mail is left alone for one send's deadline plus a margin
            lease_seconds=outbox.lease_for(smtp.timeout_seconds if smtp
                                           else outbox.FOLDER_DEADLINE_SECONDS))
        return outbox.deliver_due(self.db.session, self.transport, policy, self.clock())

    def _sender(self) -> str:
        return outbox.sender_address(self.settings)


MAX_INTERRUPTED = 2  # attempts that never finished before a message is quarantined
_WORKER = f"{socket.gethostname()}:{os.getpid()}"
_WATCHDOG_GRACE_SECONDS = 5.0


class _Progress:
    """Which stage of a message is running (for the reason of an unexpected error)."""

    def __init__(self) -> None:
        self.stage = "parse"

    def enter(self, stage: str) -> None:
        self.stage = stage


def internal_error(stage: str, exc: BaseException) -> str:
    """The reason recorded for a bug of ours: stage, exception type and message, one line."""
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:300] + "..."
    return f"internal error in {stage}: {type(exc).__name__}: {text}"


def _with_watchdog(work: Callable, deadline: Deadline, progress: _Progress):  # noqa: ANN202
    """Runs ``work`` in a daemon thread and waits until the deadline (plus a grace for the
    stages' own checks to answer first). A stage still running then is abandoned: it holds
    no database transaction, and its result, if it ever comes, is dropped.

    The thread is the calling thread's helper, kept from one call to the next (starting a
    thread twice a message was a tenth of a text PDF's time); an abandoned helper is left
    to its stuck work and the next call starts a new one."""
    helper = getattr(_helpers, "helper", None)
    if helper is None:
        helper = _helpers.helper = _Helper()
    box: dict = {}
    done = threading.Event()
    helper.jobs.put((work, box, done))
    if not done.wait(max(deadline.remaining(), 0.0) + _WATCHDOG_GRACE_SECONDS):
        _helpers.helper = None
        log.error("a stage (%s) is still running past the message's time budget: "
                  "abandoned", progress.stage)
        raise OverBudget(deadline.reason(progress.stage))
    if "error" in box:
        raise box["error"]
    return box["value"]


class _Helper:
    """A daemon thread running one piece of work at a time for the thread that owns it."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="message-reader", daemon=True).start()

    def _loop(self) -> None:
        while True:
            work, box, done = self.jobs.get()
            try:
                box["value"] = work()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                box["error"] = exc
            finally:
                del work  # nothing of a finished message is kept alive here
            done.set()


_helpers = threading.local()  # each calling thread (source watcher) has its own helper


def _claim_is_live(row: MessageRow, now: datetime, lease_seconds: float) -> bool:
    """Another process holds this message: a claim younger than the lease whose process
    is alive (a claim of this host's dead process is stale at once)."""
    if not row.claimed_by or row.claimed_at is None:
        return False
    if (now - row.claimed_at).total_seconds() > lease_seconds:
        return False
    host, _, pid = row.claimed_by.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return False  # this process: a claim left by an attempt of ours that ended
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return True


def _text(value: str | None) -> str | None:
    """Text safe for every database: no NUL (PostgreSQL refuses it), valid UTF-8."""
    if value is None:
        return None
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


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


def _codes_name_no_order(reading: Reading, orders: dict) -> bool:
    """Codes were read from an OCR document and none of them names an order."""
    codes = reading.fields.codes
    return bool(codes) and reading.text_source == "ocr" and not any(c in orders for c in codes)
