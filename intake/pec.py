"""PEC (Posta Elettronica Certificata) envelopes and receipts, per the Italian technical rules
(DPR 68/2005, DM 2 novembre 2005, "Regole tecniche del servizio di trasmissione di documenti
informatici mediante posta elettronica certificata").

A *transport envelope* (``busta di trasporto``) wraps the sender's original message:
subject ``POSTA CERTIFICATA: <original subject>``, header ``X-Trasporto: posta-certificata``,
an S/MIME-signed multipart holding the provider's notice, ``daticert.xml`` (certified sender,
recipients, date, message id) and ``postacert.eml`` (the original message, attachments and
all). *Receipts* (``ricevute``: accettazione, avvenuta-consegna, errore-consegna, ...) are the
system's own notices, carry ``X-Ricevuta`` and are never payments.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from email.message import Message

# ``tipo`` of daticert.xml for a receipt, and the X-Ricevuta values (Regole tecniche, 6.x).
RECEIPT_TYPES = frozenset({
    "accettazione", "non-accettazione", "presa-in-carico", "avvenuta-consegna",
    "posta-certificata-consegna", "errore-consegna", "preavviso-errore-consegna",
    "rilevazione-virus",
})
# Subjects the providers give receipts. "AVVISO DI ..." alone is not enough: a pagoPA payment
# notice is an "Avviso di pagamento", so the generic prefix only counts from a PEC system.
RECEIPT_SUBJECTS = ("ACCETTAZIONE:", "NON ACCETTAZIONE:", "CONSEGNA:", "PRESA IN CARICO:",
                    "AVVISO DI NON ACCETTAZIONE", "AVVISO DI MANCATA CONSEGNA",
                    "AVVISO DI RILEVAZIONE VIRUS", "ERRORE DI CONSEGNA",
                    "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO")
ENVELOPE_PREFIX = "POSTA CERTIFICATA:"
ANOMALY_PREFIX = "ANOMALIA MESSAGGIO:"
MAX_DATICERT_BYTES = 256 * 1024


@dataclass(frozen=True)
class CertData:
    """What ``daticert.xml`` certifies about one transmission."""

    kind: str | None = None  # tipo: posta-certificata, accettazione, avvenuta-consegna, ...
    error: str | None = None  # errore: nessuno, no-dest, virus, ...
    sender: str | None = None  # mittente: the certified sender
    recipients: tuple[str, ...] = ()
    subject: str | None = None
    provider: str | None = None  # gestore-emittente
    date: str | None = None  # "dd/mm/yyyy hh:mm:ss +zone" as written
    identifier: str | None = None  # identificativo of the transmission
    msgid: str | None = None  # Message-ID of the original message
    consignee: str | None = None  # consegna: the mailbox a delivery receipt is about
    extra: dict[str, str] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, str]:
        values = {"pec_type": self.kind, "pec_certified_sender": self.sender,
                  "pec_recipients": ", ".join(self.recipients) or None,
                  "pec_subject": self.subject, "pec_provider": self.provider,
                  "pec_date": self.date, "pec_identifier": self.identifier,
                  "pec_original_message_id": self.msgid, "pec_error": self.error}
        return {k: v for k, v in values.items() if v}


def parse_daticert(data: bytes) -> CertData | None:
    """``daticert.xml`` -> ``CertData``; None if it is not one (or is too big to be one).

    The stdlib parser resolves no external entities, and expat >= 2.4 limits entity
    expansion, so a hostile file cannot make it fetch or explode."""
    if not data or len(data) > MAX_DATICERT_BYTES or b"<!ENTITY" in data:
        return None
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    if _local(root.tag) != "postacert":
        return None
    head = _child(root, "intestazione")
    dati = _child(root, "dati")

    def text(parent: ET.Element | None, name: str) -> str | None:
        node = _child(parent, name)
        value = " ".join((node.text or "").split()) if node is not None else ""
        return value or None

    recipients = tuple(" ".join((n.text or "").split()) for n in _children(head, "destinatari")
                       if (n.text or "").strip())
    date_node = _child(dati, "data")
    date = None
    if date_node is not None:
        parts = [text(date_node, "giorno"), text(date_node, "ora"), date_node.get("zona")]
        date = " ".join(p for p in parts if p) or None
    msgid = text(dati, "msgid")
    return CertData(
        kind=root.get("tipo"), error=root.get("errore"), sender=_address(text(head, "mittente")),
        recipients=recipients, subject=text(head, "oggetto"),
        provider=text(dati, "gestore-emittente"), date=date,
        identifier=text(dati, "identificativo"), msgid=msgid,
        consignee=text(dati, "consegna"),
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(parent: ET.Element | None, name: str) -> ET.Element | None:
    if parent is None:
        return None
    return next((c for c in parent if _local(c.tag) == name), None)


def _children(parent: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if parent is None else [c for c in parent if _local(c.tag) == name]


def _address(value: str | None) -> str | None:
    if not value:
        return None
    match = re.search(r"[\w.+'-]+@[\w.-]+", value)
    return match.group(0).lower() if match else value.lower()


# --- recognising envelopes and receipts ---------------------------------------------------

def find_daticert(msg: Message) -> CertData | None:
    """The ``daticert.xml`` of this envelope or receipt: a direct part of its signed body,
    never one inside the original message."""
    for part in _own_parts(msg):
        name = (part.get_filename() or "").lower() if _safe_name(part) else ""
        if name == "daticert.xml" or (part.get_content_type() == "application/xml"
                                      and not name):
            try:
                data = part.get_payload(decode=True)
            except Exception:  # noqa: BLE001 - a broken transfer encoding
                continue
            cert = parse_daticert(data or b"")
            if cert is not None:
                return cert
    return None


def find_original(msg: Message) -> Message | None:
    """The sender's original message (``postacert.eml``) of a transport envelope."""
    fallback = None
    for part in _own_parts(msg):
        if part.get_content_type() != "message/rfc822":
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else payload
        if not isinstance(inner, Message):
            continue
        name = (part.get_filename() or "").lower() if _safe_name(part) else ""
        if name == "postacert.eml":
            return inner
        fallback = fallback or inner
    return fallback


def _own_parts(msg: Message) -> list[Message]:
    """Parts of the envelope itself, not descending into attached messages."""
    found: list[Message] = []
    stack = [msg]
    while stack and len(found) < 200:
        part = stack.pop(0)
        if part.get_content_type() == "message/rfc822":
            found.append(part)  # an attached message: a part of its own, not opened
            continue
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend(children)
            continue
        found.append(part)
    return found


def _safe_name(part: Message) -> bool:
    try:
        part.get_filename()
        return True
    except Exception:  # noqa: BLE001 - broken RFC 2231 parameters
        return False


def receipt_type(msg: Message, subject: str | None, cert: CertData | None) -> str | None:
    """The kind of PEC system receipt this is, or None if it is not a receipt."""
    header = _get(msg, "X-Ricevuta").strip().lower()
    if header:
        return header
    if cert is not None and cert.kind in RECEIPT_TYPES:
        return cert.kind
    upper = (subject or "").strip().upper()
    if upper.startswith(RECEIPT_SUBJECTS):
        return upper.split(":")[0].lower()
    sender = _get(msg, "From").lower()
    if upper.startswith("AVVISO DI ") and "posta-certificata@" in sender:
        return upper.split(":")[0].lower()
    return None


def is_envelope(msg: Message, subject: str | None, cert: CertData | None) -> bool:
    transport = _get(msg, "X-Trasporto").strip().lower()
    upper = (subject or "").strip().upper()
    return (transport in ("posta-certificata", "errore")
            or (cert is not None and cert.kind == "posta-certificata")
            or upper.startswith((ENVELOPE_PREFIX, ANOMALY_PREFIX)))


def _get(msg: Message, name: str) -> str:
    """A header as text, never raising: ``policy.default`` parses structured headers on
    access and fails on hostile ones (an address group, a From ending in '@')."""
    try:
        return str(msg.get(name) or "")
    except Exception:  # noqa: BLE001 - fall back to the raw value
        for key, value in msg.raw_items() if hasattr(msg, "raw_items") else msg.items():
            if key.lower() == name.lower():
                return str(value)
        return ""
