"""From raw bytes to a ``ParsedMessage``: headers, body text and the documents it carries.

Uses only the standard ``email`` package (RFC 5322 / MIME, RFC 2047 and RFC 2231 names via
``policy.default``). Nothing remote is ever fetched: HTML bodies are reduced to text locally.
"""
from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message
from pathlib import PurePath

from app.errors import BadMessage
from intake.htmltext import html_to_text
from intake.sources.base import IncomingMessage

DOCUMENT_TYPES = {"pdf", "tiff", "jpeg", "png", "gif", "bmp", "webp"}


@dataclass(frozen=True)
class Document:
    """One readable item of a message: an attachment, a dropped file, or the body text."""

    filename: str | None
    content_type: str
    data: bytes
    origin: str  # "file" | "attachment" | "body"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def kind(self) -> str:
        """``pdf``, ``tiff``, ``jpeg``, ``png``, ... by magic bytes first, name second."""
        return sniff_kind(self.data, self.filename, self.content_type)


@dataclass
class ParsedMessage:
    message_id: str | None
    sender: str | None
    sender_name: str | None
    subject: str | None
    date: datetime | None
    body_text: str
    documents: list[Document]
    kind: str = "payment"  # "payment" | "pec_receipt"
    automatic: bool = False  # Auto-Submitted, mailer-daemon: never answered (RFC 3834)
    certified_sender: str | None = None
    notes: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def main_filename(self) -> str | None:
        for doc in self.documents:
            if doc.origin != "body":
                return doc.filename
        return None


def sniff_kind(data: bytes, filename: str | None, content_type: str = "") -> str:
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    suffix = PurePath(filename or "").suffix.lower().lstrip(".")
    by_suffix = {"pdf": "pdf", "tif": "tiff", "tiff": "tiff", "jpg": "jpeg", "jpeg": "jpeg",
                 "png": "png", "txt": "text", "htm": "html", "html": "html", "zip": "zip"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    main = content_type.split(";")[0].strip().lower()
    if main.startswith("text/"):
        return "html" if main == "text/html" else "text"
    return "unknown"


def parse_incoming(incoming: IncomingMessage) -> ParsedMessage:
    """A mail is parsed as MIME; a dropped document becomes a message of one document."""
    if not incoming.raw.strip():
        raise BadMessage("empty message (0 bytes)" if not incoming.raw else "empty message")
    if not incoming.is_mail:
        doc = Document(incoming.filename, "application/octet-stream", incoming.raw, "file")
        return ParsedMessage(None, None, None, None, None, "", [doc])
    return parse_mail(incoming.raw)


def parse_mail(raw: bytes) -> ParsedMessage:
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the parser is lenient; this is truly unparseable input
        raise BadMessage(f"not a MIME message: {exc}") from exc
    if not msg.keys() and not msg.get_payload():
        raise BadMessage("not a MIME message: no headers and no body")
    bodies: list[str] = []
    documents: list[Document] = []
    notes: list[str] = []
    _walk(msg, bodies, documents, notes, depth=0)
    body_text = "\n\n".join(b for b in bodies if b.strip())
    if body_text.strip():
        documents.append(Document(None, "text/plain", body_text.encode("utf-8"), "body"))
    sender_name, sender = _address(msg, "From")
    return ParsedMessage(
        message_id=_header(msg, "Message-ID"),
        sender=sender,
        sender_name=sender_name,
        subject=_header(msg, "Subject"),
        date=_date(msg),
        body_text=body_text,
        documents=documents,
        kind=_classify(msg),
        automatic=_is_automatic(msg, sender),
        notes=notes,
        headers={k: _header(msg, k) or "" for k in ("X-Trasporto", "X-Ricevuta",
                                                     "Auto-Submitted", "Return-Path")
                 if k in msg},
    )


MAX_DEPTH = 10


def _walk(part: Message, bodies: list[str], documents: list[Document], notes: list[str],
          depth: int) -> None:
    """Collects body texts and attachments at any depth (mixed, related, alternative, rfc822)."""
    if depth > MAX_DEPTH:
        notes.append("MIME nesting deeper than 10 levels: the rest was not read")
        return
    ctype = part.get_content_type()
    if part.is_multipart():
        children = part.get_payload()
        if not isinstance(children, list):
            return
        if ctype == "multipart/alternative":
            chosen = _best_alternative(children)
            children = [chosen] if chosen is not None else []
        for child in children:
            _walk(child, bodies, documents, notes, depth + 1)
        return
    if ctype == "message/rfc822":
        inner = part.get_payload()
        inner_msg = inner[0] if isinstance(inner, list) and inner else inner
        if isinstance(inner_msg, Message):
            _walk(inner_msg, bodies, documents, notes, depth + 1)
        return
    filename = _filename(part)
    disposition = (part.get_content_disposition() or "").lower()
    payload = _payload_bytes(part, notes)
    if payload is None:
        return
    is_text_body = ctype in ("text/plain", "text/html") and not filename \
        and disposition != "attachment"
    if is_text_body:
        text = _decode_text(part, payload)
        bodies.append(html_to_text(text) if ctype == "text/html" else text)
        return
    if not payload and not filename:
        return
    documents.append(Document(filename, ctype, payload, "attachment"))


def _best_alternative(children: list[Message]) -> Message | None:
    """RFC 2046 §5.1.4: the last alternative is the richest; prefer plain text when present
    because HTML receipts reduce less faithfully. Non-text alternatives (a nested mixed or
    related part) win, since they may carry the attachment."""
    for child in children:
        if child.is_multipart():
            return child
    for child in children:
        if child.get_content_type() == "text/plain":
            return child
    return children[-1] if children else None


def _payload_bytes(part: Message, notes: list[str]) -> bytes | None:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:  # malformed transfer encoding
        notes.append(f"part {part.get_content_type()} could not be decoded: {exc}")
        return None
    if payload is None:
        raw = part.get_payload()
        return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""
    return payload


def _decode_text(part: Message, payload: bytes) -> str:
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "cp1252", "latin-1"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1", "replace")


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # a broken RFC 2231 parameter
        name = None
    if not name:
        name = part.get_param("name", header="content-type")
        if isinstance(name, tuple):  # RFC 2231 triple
            name = email.utils.collapse_rfc2231_value(name)
    if not name:
        return None
    return PurePath(str(name).replace("\\", "/")).name or None


def _header(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # a header the policy cannot parse
        value = None
        for key, raw in msg.raw_items() if isinstance(msg, EmailMessage) else msg.items():
            if key.lower() == name.lower():
                value = str(raw)
                break
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _address(msg: Message, name: str) -> tuple[str | None, str | None]:
    raw = _header(msg, name)
    if not raw:
        return None, None
    display, addr = email.utils.parseaddr(raw)
    return (display or None), (addr.lower() or None)


def _date(msg: Message) -> datetime | None:
    raw = _header(msg, "Date")
    if not raw:
        return None
    try:
        return email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _classify(msg: Message) -> str:
    """PEC system receipts (``X-Ricevuta``) are never payments and never answered."""
    return "pec_receipt" if _header(msg, "X-Ricevuta") else "payment"


def _is_automatic(msg: Message, sender: str | None) -> bool:
    """RFC 3834: Auto-Submitted other than "no", bounces and list traffic get no reply."""
    if (_header(msg, "Auto-Submitted") or "no").lower() != "no":
        return True
    local = (sender or "").split("@")[0]
    if local in ("mailer-daemon", "postmaster", "noreply", "no-reply", "") or not sender:
        return True
    return (_header(msg, "Precedence") or "").lower() in ("bulk", "junk", "list")
