"""From raw bytes to a ``ParsedMessage``: headers, body text and the documents it carries.

Uses only the standard ``email`` package (RFC 5322 / MIME, RFC 2047 and RFC 2231 names via
``policy.default``). Nothing remote is ever fetched: HTML bodies are reduced to text locally.

Three shapes get special care: PEC transport envelopes are unwrapped (the evidence is the
original ``postacert.eml``, the certified sender comes from ``daticert.xml``, see
``intake.pec``); PEC system receipts are recognised and carry no documents; and a fax
gateway's message yields only its fax pages (TIFF, PDF), never its boilerplate body.
"""
from __future__ import annotations

import email
import email.header
import email.parser
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message
from pathlib import PurePath

from config.settings import LimitSettings
from core.errors import BadDocument, BadMessage
from core.status import MessageKind
from intake import pec
from intake.archives import extract_members
from intake.htmltext import html_to_text
from intake.sources.base import IncomingMessage

DOCUMENT_TYPES = {"pdf", "tiff", "jpeg", "png", "gif", "bmp", "webp"}
FAX_KINDS = {"tiff", "pdf", "png", "jpeg", "gif", "bmp"}
# Signatures and PEC service files are proof of transport, not proof of payment.
SKIPPED_TYPES = {"application/pkcs7-signature", "application/x-pkcs7-signature",
                 "application/pgp-signature", "application/pkcs7-mime"}
MAX_ENVELOPE_NESTING = 3
MAX_HEADER_BYTES = 256 * 1024  # where a Message-ID is looked for at arrival


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
    kind: str = MessageKind.PAYMENT
    automatic: bool = False  # Auto-Submitted, mailer-daemon: never answered (RFC 3834)
    certified_sender: str | None = None
    notes: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    # PEC: what daticert.xml certifies (``CertData.as_metadata``) and whether the message was
    # a transport envelope that was unwrapped
    pec: dict[str, str] = field(default_factory=dict)
    pec_envelope: bool = False
    # fax gateway: calling number, pages, time, as the gateway states them
    fax: dict[str, str] = field(default_factory=dict)

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


def parse_incoming(incoming: IncomingMessage,
                   limits: LimitSettings | None = None) -> ParsedMessage:
    """A mail is parsed as MIME; a dropped document becomes a message of one document.

    Raises ``BadMessage`` (quarantined with its reason) for an empty or oversized message,
    one the source already refused (``metadata["rejected"]``), a fax without fax pages, or
    a message whose every attachment was refused (0 bytes, over the limit, zip bomb)."""
    limits = limits or LimitSettings()
    if incoming.metadata.get("rejected"):
        raise BadMessage(incoming.metadata["rejected"])
    if not incoming.raw.strip():
        raise BadMessage("empty message (0 bytes)" if not incoming.raw else "empty message")
    if len(incoming.raw) > limits.max_message_bytes:
        raise BadMessage(f"message of {len(incoming.raw)} bytes is over the limit of "
                         f"{limits.max_message_bytes} bytes")
    if not incoming.is_mail:
        doc = Document(incoming.filename, "application/octet-stream", incoming.raw, "file")
        return ParsedMessage(None, None, None, None, None, "", [doc])
    return parse_mail(incoming.raw, limits, fax_gateway=incoming.fax_gateway)


def parse_mail(raw: bytes, limits: LimitSettings | None = None, *,
               fax_gateway: bool = False) -> ParsedMessage:
    limits = limits or LimitSettings()
    msg = _message_from_bytes(raw)
    subject = _header(msg, "Subject")
    cert = pec.find_daticert(msg) if msg.is_multipart() else None
    receipt = pec.receipt_type(msg, subject, cert)
    evidence, envelope, notes = _unwrap_envelope(msg, subject, cert, receipt)
    walk = _Walk(limits)
    if receipt is None:
        walk.part(evidence, depth=0)
    notes += walk.notes
    body_text = "\n\n".join(b for b in walk.bodies if b.strip())
    documents = walk.documents
    fax: dict[str, str] = {}
    if fax_gateway and receipt is None:
        fax = fax_metadata(msg, body_text)
        documents = [d for d in documents if d.kind in FAX_KINDS]
        if not documents:
            error = BadMessage("fax gateway message without a fax attachment (TIFF or PDF)"
                               + (f": {'; '.join(walk.refused)}" if walk.refused else ""))
            error.facts = {f"fax_{k}": v for k, v in fax.items()}  # kept with the arrival
            raise error
    else:
        if walk.refused and not documents:
            raise BadMessage("; ".join(walk.refused))
        if body_text.strip():
            documents.append(Document(None, "text/plain", body_text.encode("utf-8"), "body"))
    if not documents and receipt is None and msg.defects:
        notes.append("broken MIME: " + ", ".join(sorted({type(d).__name__
                                                          for d in msg.defects})))
    sender_name, sender = _address(evidence, "From")
    headers = {k: _header(msg, k) or "" for k in ("X-Trasporto", "X-Ricevuta",
                                                   "Auto-Submitted", "Return-Path") if k in msg}
    if receipt and not headers.get("X-Ricevuta"):
        headers["X-Ricevuta"] = receipt
    return ParsedMessage(
        message_id=_header(msg, "Message-ID"),
        sender=sender,
        sender_name=sender_name,
        subject=_header(evidence, "Subject") or subject,
        date=_date(evidence) or _date(msg),
        body_text=body_text,
        documents=documents,
        kind=MessageKind.PEC_RECEIPT if receipt else MessageKind.PAYMENT,
        automatic=bool(receipt) or _is_automatic(evidence, sender),
        certified_sender=cert.sender if cert else None,
        notes=notes,
        headers=headers,
        pec=cert.as_metadata() if cert else {},
        pec_envelope=envelope,
        fax=fax,
    )


def _message_from_bytes(raw: bytes) -> Message:
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # noqa: BLE001 - the parser is lenient; this is truly unparseable
        raise BadMessage(f"not a MIME message: {exc}") from exc
    if not msg.keys() and not msg.get_payload():
        raise BadMessage("not a MIME message: no headers and no body")
    if not msg.keys():
        raise BadMessage("not a MIME message: no header lines")
    return msg


def _unwrap_envelope(msg: Message, subject: str | None, cert: pec.CertData | None,
                     receipt: str | None) -> tuple[Message, bool, list[str]]:
    """The message that carries the evidence: the PEC original for an envelope (unwrapping
    an envelope forwarded inside another one too), else the message itself."""
    if receipt is not None or not pec.is_envelope(msg, subject, cert):
        return msg, False, []
    current = msg
    for _ in range(MAX_ENVELOPE_NESTING):
        original = pec.find_original(current)
        if original is None:
            break
        current = original
        inner_subject = _header(current, "Subject")
        if not pec.is_envelope(current, inner_subject, pec.find_daticert(current)
                               if current.is_multipart() else None):
            break
    if current is msg:
        return msg, False, ["PEC envelope without postacert.eml: the envelope itself was read"]
    return current, True, []


class _Walk:
    """Collects body texts and attachments at any depth (mixed, related, alternative, rfc822,
    a zip's members), refusing what is empty, over the limit or hostile, with a reason."""

    MAX_DEPTH = 10

    def __init__(self, limits: LimitSettings) -> None:
        self.limits = limits
        self.bodies: list[str] = []
        self.documents: list[Document] = []
        self.notes: list[str] = []
        self.refused: list[str] = []

    def part(self, part: Message, depth: int) -> None:
        if depth > self.MAX_DEPTH:
            self.notes.append("MIME nesting deeper than 10 levels: the rest was not read")
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
                self.part(child, depth + 1)
            return
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner_msg, Message):
                self.part(inner_msg, depth + 1)
            return
        if ctype in SKIPPED_TYPES or ctype == "message/delivery-status":
            return
        self.leaf(part, ctype, depth)

    def leaf(self, part: Message, ctype: str, depth: int) -> None:
        filename = _filename(part)
        disposition = (part.get_content_disposition() or "").lower()
        payload = _payload_bytes(part, self.notes)
        if payload is None:
            return
        if ctype in ("text/plain", "text/html") and not filename and disposition != "attachment":
            text = _decode_text(part, payload)
            self.bodies.append(html_to_text(text) if ctype == "text/html" else text)
            return
        if not filename and not payload:
            return
        if (filename or "").lower() == "daticert.xml":
            return  # PEC service data, recorded from the envelope, not a document
        name = filename or f"attachment ({ctype})"
        if not payload:
            self.refused.append(f"{name}: empty attachment (0 bytes)")
            return
        if len(payload) > self.limits.max_attachment_bytes:
            self.refused.append(f"{name}: {len(payload)} bytes is over the attachment limit of "
                                f"{self.limits.max_attachment_bytes} bytes")
            return
        doc = Document(filename, ctype, payload, "attachment")
        if doc.kind == "zip":
            self.archive(doc, depth)
        elif doc.kind == "unknown" and _is_rfc822_name(filename):
            self.part(email.message_from_bytes(payload, policy=email.policy.default), depth + 1)
        else:
            self.documents.append(doc)

    def archive(self, doc: Document, depth: int) -> None:
        name = doc.filename or "archive.zip"
        try:
            members = extract_members(doc.data, name, self.limits.max_attachment_bytes,
                                      self.limits.max_attachment_bytes)
        except BadDocument as exc:
            self.refused.append(exc.reason)
            return
        if not members:
            self.refused.append(f"{name}: zip without a PDF, image or message inside")
        for member in members:
            inner = Document(member.name, "application/octet-stream", member.data, "attachment")
            if not member.data:
                self.refused.append(f"{name}/{member.name}: empty file (0 bytes)")
            elif _is_rfc822_name(member.name):
                self.part(email.message_from_bytes(member.data, policy=email.policy.default),
                          depth + 1)
            elif inner.kind != "zip":  # archives inside archives are not opened
                self.documents.append(inner)


def _is_rfc822_name(filename: str | None) -> bool:
    return PurePath(filename or "").suffix.lower() == ".eml"


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
    except Exception as exc:  # noqa: BLE001 - malformed transfer encoding
        notes.append(f"part {part.get_content_type()} could not be decoded: {exc}")
        return None
    if payload is None:
        raw = part.get_payload()
        return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""
    return payload


def _decode_text(part: Message, payload: bytes) -> str:
    try:
        charset = part.get_content_charset() or "utf-8"
    except Exception:  # noqa: BLE001 - a charset parameter that is not text
        charset = "utf-8"
    for candidate in (charset, "utf-8", "cp1252", "latin-1"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):  # ValueError: NUL in the name
            continue
    return payload.decode("latin-1", "replace")


def _filename(part: Message) -> str | None:
    """RFC 2183 filename or RFC 2045 name, RFC 2231/2047 decoded, reduced to a base name."""
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a broken RFC 2231 parameter
        name = None
    if not name:
        try:
            name = part.get_param("name", header="content-type")
        except Exception:  # noqa: BLE001
            name = None
        if isinstance(name, tuple):  # RFC 2231 triple
            name = email.utils.collapse_rfc2231_value(name)
    if not name:
        return None
    text = _repair_encoded_words(str(name))
    return PurePath(text.replace("\\", "/")).name or None


def _repair_encoded_words(name: str) -> str:
    """Decodes RFC 2047 words left in a name; drops the debris of broken ones ('=pdf.pdf?=')."""
    if "=?" in name:
        try:
            name = str(email.header.make_header(email.header.decode_header(name)))
        except Exception:  # noqa: BLE001
            pass
    name = re.sub(r"=\?[^?]*\?[bqBQ]\?", "", name).replace("?=", "")
    return name.lstrip("=").strip() or "attachment"


def _header(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a header the policy cannot parse
        value = None
        for key, raw in msg.raw_items() if isinstance(msg, EmailMessage) else msg.items():
            if key.lower() == name.lower():
                value = str(raw)
                break
    if value is None:
        return None
    try:
        text = " ".join(str(value).split())
    except Exception:  # noqa: BLE001 - undecodable header bytes
        return None
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


# the one list of mailboxes that are machines: never answered, never asked for anything
AUTOMATIC_LOCAL_PARTS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply",
                         "do-not-reply")


def is_automatic_address(address: str | None) -> bool:
    """A missing address, or one whose local part is a machine's (mailer-daemon, noreply)."""
    local = (address or "").split("@")[0].strip().lower()
    return not local or local in AUTOMATIC_LOCAL_PARTS


def _is_automatic(msg: Message, sender: str | None) -> bool:
    """RFC 3834: Auto-Submitted other than "no", bounces and list traffic get no reply."""
    if (_header(msg, "Auto-Submitted") or "no").lower() != "no":
        return True
    if is_automatic_address(sender):
        return True
    return (_header(msg, "Precedence") or "").lower() in ("bulk", "junk", "list")


# --- fax gateways -------------------------------------------------------------------------

_FAX_HEADERS = {"calling_number": ("X-Fax-Caller", "X-Fax-From", "X-Caller-ID", "X-Fax-CSID",
                                   "X-Fax-Remote-ID", "X-Fax-TSID"),
                "pages": ("X-Fax-Pages", "X-Fax-Page-Count"),
                "received_at": ("X-Fax-Received", "X-Fax-Date", "X-Fax-Time")}
_FAX_PATTERNS = {
    "calling_number": re.compile(
        r"(?:numero (?:chiamante|mittente)|chiamante|mittente|caller(?:[ -]?id)?|calling "
        r"number|remote (?:id|station)|csid|tsid|fax (?:from|da)|from|da)\s*[:#]?\s*"
        r"(\+?\d[\d ./-]{4,}\d)", re.I),
    "pages": re.compile(r"(?:pagine|pages?|pagg?\.|n\. ?pagine|numero (?:di )?pagine)\s*[:#]?"
                        r"\s*(\d{1,3})\b", re.I),
    "received_at": re.compile(r"(?:ricevuto(?: il)?|data(?: e ora)?(?: di ricezione)?|received"
                              r"(?: at| on)?|date|time)\s*:\s*([^\r\n]{6,40})", re.I),
}


def fax_metadata(msg: Message, body_text: str) -> dict[str, str]:
    """Calling number, pages and time as the gateway states them (headers first, then the
    subject and the boilerplate body); only what is present."""
    found: dict[str, str] = {}
    for key, names in _FAX_HEADERS.items():
        for name in names:
            value = _header(msg, name)
            if value:
                found[key] = value
                break
    text = "\n".join([_header(msg, "Subject") or "", body_text[:4000]])
    for key, pattern in _FAX_PATTERNS.items():
        if key not in found and (match := pattern.search(text)):
            found[key] = match.group(1).strip()
    return found


# --- what the pipeline records on arrival ------------------------------------------------

def peek_message_id(incoming: IncomingMessage) -> str | None:
    """The Message-ID of a mail from its header block alone (no MIME walk, never raising),
    so an arrival is recognised before the message is parsed: the message itself is parsed
    once, by ``parse_incoming``."""
    if not incoming.is_mail or not incoming.raw.strip():
        return None
    try:
        head = incoming.raw[:MAX_HEADER_BYTES]
        msg = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(head)
        return _header(msg, "Message-ID")
    except Exception:  # noqa: BLE001 - arrival must be recorded whatever the bytes are
        return None


def message_facts(parsed: ParsedMessage) -> dict[str, str]:
    """The facts worth keeping beside the original: PEC certification (daticert.xml) and
    the fax gateway's data (calling number, pages, time)."""
    return {**parsed.pec, **{f"fax_{k}": v for k, v in parsed.fax.items()}}
