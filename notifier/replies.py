"""Asking a receipt's sender for a readable proof or for the missing order code (used by
the review UI). Never sent to automatic mail: a reply to a mailer-daemon, an auto-responder
(RFC 3834 ``Auto-Submitted``), a PEC system receipt or the fax gateway could start a loop
or reach nobody."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from config.settings import Settings
from core.errors import IntakeError
from core.status import MessageKind
from intake.message import is_automatic_address, parse_mail
from notifier import compose, outbox
from store.models import MessageRow, OutgoingMailRow
from store.originals import OriginalStore


class NotAnswerable(IntakeError):
    """This receipt's sender must not (or cannot) be written to automatically."""


def why_not_answerable(receipt: MessageRow, settings: Settings) -> str | None:
    """The reason not to write to the receipt's sender, or None if a request may go out."""
    if not receipt.sender or "@" not in receipt.sender:
        return "the receipt has no sender address (a file dropped in a folder, a bare fax)"
    source = next((s for s in settings.sources if s.name == receipt.source), None)
    if source is not None and source.fax_gateway:
        return f"the receipt came through the fax gateway ({receipt.source}): no one reads " \
               "replies to it"
    if receipt.kind == MessageKind.PEC_RECEIPT:
        return "the receipt is a PEC system receipt, sent by a machine"
    if is_automatic_address(receipt.sender):
        return f"the sender {receipt.sender} is an automatic mailbox"
    recorded = (receipt.metadata_json or {}).get("automatic")  # set when it was parsed
    if recorded == "true" or (recorded is None and _automatic_original(
            OriginalStore(settings.originals_dir).path_for(receipt.sha256))):
        return "the receipt was sent automatically (Auto-Submitted, bulk or list mail)"
    return None


def _automatic_original(path: Path) -> bool:
    """For receipts recorded before the flag was kept: the original parsed again."""
    if not path.exists():
        return False
    try:
        return parse_mail(path.read_bytes()).automatic
    except IntakeError:
        return False


def queue_proof_request(session: Session, settings: Settings, receipt: MessageRow, what: str,
                        *, note: str | None = None,
                        event_key: str | None = None) -> OutgoingMailRow | None:
    """Queues the request ``what`` (``compose.PROOF_REQUESTS``) to the receipt's sender, in
    the caller's transaction. One per ``event_key`` (by default: per receipt and kind):
    asking again returns None. Raises ``NotAnswerable`` for automatic senders."""
    reason = why_not_answerable(receipt, settings)
    if reason is not None:
        raise NotAnswerable(f"receipt #{receipt.id}: no {what} request sent: {reason}")
    mail = compose.proof_request(what, receipt.sender, settings.sender_name,
                                 subject=receipt.subject, received_at=receipt.received_at,
                                 filename=receipt.filename, note=note)
    sender = outbox.sender_address(settings)
    return outbox.queue(session, mail, event_key or f"proof-request:{what}:{receipt.id}", None,
                        sender.split("@")[-1])
