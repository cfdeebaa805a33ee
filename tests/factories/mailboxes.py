"""Messages as they reach the administration's and the fax gateway's mailboxes, and the
configuration that points pec-intake at a test Dovecot.

PEC envelopes and receipts are built the way Italian providers write them (compare
../shared/corpus/pec-go-pec/email_3.eml and pec-java-pec-parser/accettazione.eml): an S/MIME
``multipart/signed`` holding a ``multipart/mixed`` with the provider's notice (text + HTML,
ISO-8859-1 quoted-printable), ``daticert.xml`` and, for an envelope, ``postacert.eml``; the
signature blob is random bytes (the corpus ones do not parse either).
"""
from __future__ import annotations

import base64
import io
import quopri
import random
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime, make_msgid
from pathlib import Path

from tests.factories.receipts import (
    MailSpec,
    OrderSpec,
    ReceiptSpec,
    body_only_email,
    build_email,
    random_spec,
    receipt_email,
    receipt_pdf,
)

PROVIDER = "pec.provider.example.it"


# --- PEC ---------------------------------------------------------------------------------

def daticert(kind: str, sender: str, recipient: str, subject: str, msgid: str,
             when: datetime, error: str = "nessuno") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="{kind}" errore="{error}">
    <intestazione>
        <mittente>{sender}</mittente>
        <destinatari tipo="certificato">{recipient}</destinatari>
        <risposte>{sender}</risposte>
        <oggetto>{subject}</oggetto>
    </intestazione>
    <dati>
        <gestore-emittente>Provider PEC S.p.A.</gestore-emittente>
        <data zona="+0100">
            <giorno>{when:%d/%m/%Y}</giorno>
            <ora>{when:%H:%M:%S}</ora>
        </data>
        <identificativo>opec{random.randrange(10**9)}.{when:%Y%m%d%H%M%S}@{PROVIDER}</identificativo>
        <msgid>&lt;{msgid.strip("<>")}&gt;</msgid>
        <ricevuta tipo="completa" />
    </dati>
</postacert>
""".encode()


def _qp(text: str) -> str:
    return quopri.encodestring(text.encode("iso-8859-1")).decode("ascii")


def _b64(data: bytes) -> str:
    text = base64.b64encode(data).decode("ascii")
    return "\n".join(text[i:i + 76] for i in range(0, len(text), 76))


def _signed(headers: list[str], notice: str, title: str, parts: list[str]) -> bytes:
    """An S/MIME signed PEC message around the notice and the given extra parts."""
    outer, mixed, alt = (f"----{random.randrange(16**32):032X}",
                         f"----------=_{random.randrange(10**10)}-mixed",
                         f"----------=_{random.randrange(10**10)}-alt")
    html = "<br>\n".join(notice.splitlines())
    body = [
        "This is an S/MIME signed message", "", f"--{outer}",
        f'Content-Type: multipart/mixed; boundary="{mixed}"',
        "Content-Transfer-Encoding: binary", "MIME-Version: 1.0", "", f"--{mixed}",
        f'Content-Type: multipart/alternative;\n boundary="{alt}"',
        "Content-Transfer-Encoding: binary", "", f"--{alt}",
        'Content-Type: text/plain; charset="iso-8859-1"', "Content-Disposition: inline",
        "Content-Transfer-Encoding: quoted-printable", "", _qp(notice), "", f"--{alt}",
        'Content-Type: text/html; charset="iso-8859-1"', "Content-Disposition: inline",
        "Content-Transfer-Encoding: quoted-printable", "",
        _qp(f"<html>\n<head><title>{title}</title></head>\n<body>\n<h3>{title}</h3>\n"
            f"<hr><br>\n{html}\n</body>\n</html>"), "", f"--{alt}--", "",
    ]
    for part in parts:
        body += [f"--{mixed}", part]
    body += [f"--{mixed}--", "", f"--{outer}",
             'Content-Type: application/pkcs7-signature; name="smime.p7s"',
             "Content-Transfer-Encoding: base64",
             'Content-Disposition: attachment; filename="smime.p7s"', "",
             _b64(random.randbytes(1200)), "", f"--{outer}--", ""]
    content_type = ('Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
                    f'micalg="sha-256"; boundary="{outer}"')
    text = "\n".join(headers + ["MIME-Version: 1.0", content_type, ""] + body)
    return text.replace("\n", "\r\n").encode("ascii")


def _daticert_part(data: bytes) -> str:
    return ('Content-Type: application/xml; name="daticert.xml"\n'
            'Content-Disposition: inline; filename="daticert.xml"\n'
            f"Content-Transfer-Encoding: base64\n\n{_b64(data)}\n")


def pec_envelope(original: bytes, certified_sender: str,
                 recipient: str = "amministrazione@pec.example.it",
                 when: datetime | None = None) -> bytes:
    """A PEC transport envelope (``busta di trasporto``) around ``original``."""
    from email import message_from_bytes, policy
    when = when or datetime(2026, 3, 14, 10, 31, tzinfo=UTC)
    inner = message_from_bytes(original, policy=policy.default)
    subject = str(inner.get("Subject", ""))
    msgid = str(inner.get("Message-ID") or make_msgid(domain="pec.example.it"))
    notice = (f"--Questo è un Messaggio di Posta Certificata--\n\nIl giorno {when:%d/%m/%Y} "
              f"alle ore {when:%H:%M:%S} (+0100) il messaggio\n\"{subject}\" è stato inviato da "
              f"\"{certified_sender}\"\nindirizzato a:\n{recipient}\nIl messaggio originale è "
              "incluso in allegato.\nIdentificativo messaggio: " + msgid.strip("<>"))
    headers = [
        f"Return-Path: <posta-certificata@{PROVIDER}>",
        f"Received: from mx.{PROVIDER} (mx.{PROVIDER} [192.0.2.10])\n\tby mx.example.it "
        f"(Postfix) with ESMTPS;\n\t{format_datetime(when)}",
        f"Date: {format_datetime(when)}",
        "X-Trasporto: posta-certificata",
        f"X-Riferimento-Message-ID: {msgid}",
        f'From: "Per conto di: {certified_sender}" <posta-certificata@{PROVIDER}>',
        f"To: {recipient}", f"Subject: POSTA CERTIFICATA: {subject}",
        f"Reply-To: {certified_sender}", "X-Tiporicevuta: completa",
        f"Message-ID: <opec{random.randrange(10**12)}.{when:%Y%m%d%H%M%S}@{PROVIDER}>",
    ]
    original_text = original.decode("ascii", "replace").replace("\r\n", "\n")
    parts = [
        _daticert_part(daticert("posta-certificata", certified_sender, recipient,
                                subject, msgid, when)),
        'Content-Type: message/rfc822; name="postacert.eml"\n'
        'Content-Disposition: inline; filename="postacert.eml"\n\n' + original_text + "\n",
    ]
    return _signed(headers, notice, "Messaggio di posta certificata", parts)


RECEIPT_SUBJECTS = {"accettazione": "ACCETTAZIONE", "avvenuta-consegna": "CONSEGNA",
                    "non-accettazione": "AVVISO DI NON ACCETTAZIONE",
                    "errore-consegna": "AVVISO DI MANCATA CONSEGNA",
                    "presa-in-carico": "PRESA IN CARICO"}


def pec_receipt(kind: str, subject: str = "Ricevuta pagamento ordine RLM95055",
                sender: str = "amministrazione@pec.example.it",
                recipient: str = "avv.rossi@pec.avvocati.example.it",
                original: bytes | None = None, x_ricevuta: bool = True) -> bytes:
    """A PEC system receipt; an ``avvenuta-consegna`` carries the original message (and its
    receipt PDF) like a real "ricevuta completa", which must still never count as payment."""
    when = datetime(2026, 3, 14, 10, 32, tzinfo=UTC)
    msgid = make_msgid(domain="pec.example.it")
    notice = (f"-- Ricevuta di {kind} del messaggio indirizzato a {recipient} --\n\n"
              f"Il giorno {when:%d/%m/%Y} alle ore {when:%H:%M:%S} (+0100) il messaggio con "
              f"Oggetto\n\"{subject}\" inviato da \"{sender}\"\nè stato accettato dal sistema.")
    headers = [f"Return-Path: <posta-certificata@{PROVIDER}>",
               f"Subject: {RECEIPT_SUBJECTS[kind]}: {subject}",
               f"X-Riferimento-Message-ID: {msgid}", f"Date: {format_datetime(when)}",
               f"To: {sender}", f"From: posta-certificata@{PROVIDER}",
               f"Message-ID: <opec{random.randrange(10**12)}@{PROVIDER}>"]
    if x_ricevuta:
        headers.insert(4, f"X-Ricevuta: {kind}")
    parts = [_daticert_part(daticert(kind, sender, recipient, subject, msgid, when))]
    if original is not None:
        parts.append('Content-Type: message/rfc822; name="postacert.eml"\n'
                     'Content-Disposition: inline; filename="postacert.eml"\n\n'
                     + original.decode("ascii", "replace").replace("\r\n", "\n") + "\n")
    return _signed(headers, notice, f"Ricevuta di {kind}", parts)


# --- fax gateway -------------------------------------------------------------------------

def fax_tiff(text_lines: list[str] | None = None, pages: int = 1) -> bytes:
    """A G3 fax TIFF at 204x196 dpi (Pillow), one page per ``pages``."""
    from PIL import Image, ImageDraw
    frames = []
    for page in range(pages):
        image = Image.new("1", (1728, 2200), 1)
        draw = ImageDraw.Draw(image)
        for index, line in enumerate(text_lines or [f"FAX pagina {page + 1}"]):
            draw.text((100, 150 + 60 * index), line, fill=0)
        frames.append(image)
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", compression="group3", dpi=(204, 196),
                   save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def fax_gateway_mail(attachments: list[tuple[str, str, bytes]], caller: str = "+39 06 5551234",
                     pages: int = 1) -> bytes:
    """A fax-to-email gateway's message: boilerplate body, the fax as attachment(s)."""
    body = ("Hai ricevuto un nuovo fax.\n"
            f"Numero chiamante: {caller}\nPagine: {pages}\n"
            "Ricevuto il: 14/03/2026 10:31:07\n\n"
            "Questo messaggio è stato generato automaticamente dal servizio Fax-to-Email.\n"
            "Promo: passa a FaxPro con il codice RLM00000 e ottieni 100 pagine a 99,00 euro!")
    return build_email(MailSpec(sender="fax@faxgateway.example.it", sender_name="Fax Gateway",
                                subject=f"Fax da {caller} ({pages} pagine)", body=body,
                                attachments=attachments))


# --- bad input ---------------------------------------------------------------------------

def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_bomb(megabytes: int = 64) -> bytes:
    """A small zip whose one PDF-named member inflates to ``megabytes`` MB of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("ricevuta.pdf", "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(megabytes):
                member.write(chunk)
    return buffer.getvalue()


def mail_with(attachments: list[tuple[str, str, bytes]], body: str = "In allegato.") -> bytes:
    """A customer's mail with the given attachments and its own Message-ID."""
    return build_email(MailSpec(body=body, attachments=attachments,
                                message_id=make_msgid(domain="example.com")))


# --- a batch of customers and their messages ---------------------------------------------

@dataclass
class Batch:
    orders: list[OrderSpec]
    messages: list[bytes]
    kinds: list[str]

    def csv(self) -> str:
        from tests.factories.receipts import orders_csv
        return orders_csv(self.orders)


def mixed_batch(count: int, seed: int = 7, pec_share: float = 0.25, bad_share: float = 0.1,
                receipt_share: float = 0.1) -> Batch:
    """``count`` messages, each for its own order: text-PDF receipts (plain and in PEC
    envelopes), body-only payments, PEC system receipts and broken input."""
    rng = random.Random(seed)
    random.seed(seed)
    expiry = date.today() + timedelta(days=40)
    orders, messages, kinds = [], [], []
    for index in range(count):
        code = f"RLM{70000 + index}"
        amount = Decimal(rng.choice(["10.89", "21.78", "32.67", "54.45"]))
        spec = random_spec(rng, code, amount)
        email_addr = f"cliente{index}@example.com"
        orders.append(OrderSpec(code, amount, spec.payer, email_addr, expiry_date=expiry))
        roll = rng.random()
        if roll < bad_share:
            kinds.append("bad")
            messages.append(rng.choice([
                mail_with([("ricevuta.pdf", "application/pdf", b"")]),
                mail_with([("ricevuta.zip", "application/zip", zip_bomb(8))]),
                f"From: {email_addr}\r\nMessage-ID: <empty{index}@example.com>\r\n"
                "Subject: \r\n\r\n".encode(),
            ]))
        elif roll < bad_share + receipt_share:
            kinds.append("pec_receipt")
            messages.append(pec_receipt(rng.choice(list(RECEIPT_SUBJECTS))))
        elif roll < bad_share + receipt_share + pec_share:
            kinds.append("pec")
            messages.append(pec_envelope(receipt_email(spec, sender=email_addr),
                                         certified_sender=f"avv{index}@pec.example.it"))
        elif roll < 0.85:
            kinds.append("pdf")
            messages.append(receipt_email(spec, sender=email_addr))
        else:
            kinds.append("body")
            messages.append(body_only_email(spec, sender=email_addr))
    return Batch(orders, messages, kinds)


def text_pdf_batch(count: int, seed: int = 11) -> Batch:
    rng = random.Random(seed)
    expiry = date.today() + timedelta(days=40)
    orders, messages = [], []
    for index in range(count):
        code = f"RLM{80000 + index}"
        spec = random_spec(rng, code, Decimal("10.89"))
        email_addr = f"cliente{index}@example.com"
        orders.append(OrderSpec(code, spec.amount, spec.payer, email_addr, expiry_date=expiry))
        messages.append(receipt_email(spec, sender=email_addr))
    return Batch(orders, messages, ["pdf"] * count)


# --- configuration -----------------------------------------------------------------------

def imap_source_toml(name: str, port: int, user: str, password: str, *,
                     mailbox: str = "INBOX", fax_gateway: bool = False,
                     poll_seconds: float = 60.0, extra: str = "") -> str:
    return f"""
[[sources]]
name = "{name}"
kind = "imap"
host = "127.0.0.1"
port = {port}
security = "none"
username = "{user}"
password = "{password}"
mailbox = "{mailbox}"
processed_mailbox = "Processed"
quarantine_mailbox = "Quarantine"
fax_gateway = {"true" if fax_gateway else "false"}
poll_seconds = {poll_seconds}
{extra}"""


def write_config(folder: Path, sources: list[str], extra: str = "") -> Path:
    """A config file in ``folder``: SQLite, outbox folder, the given ``[[sources]]``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pec-intake.toml"
    path.write_text('[database]\nurl = "sqlite:///intake.sqlite3"\n\n[outbox]\ndir = "outbox"\n'
                    '\n[storage]\noriginals_dir = "originals"\n' + extra + "".join(sources))
    return path


__all__ = ["Batch", "ReceiptSpec", "fax_gateway_mail", "fax_tiff", "mail_with", "mixed_batch",
           "pec_envelope", "pec_receipt", "receipt_email", "receipt_pdf", "text_pdf_batch",
           "write_config", "zip_bomb", "zip_of"]
