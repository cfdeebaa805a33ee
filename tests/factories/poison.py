"""Poison messages: the inputs that used to raise inside processing (issue 11, and the fuzz
runs), each built here in code. ``expected`` is the outcome a careful product reaches: a
message that carries nothing readable is quarantined with the reason named in ``reason``;
one whose only fault is a hostile header is processed on its merits (``matched`` when it
carries a good receipt).
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from decimal import Decimal

from tests.factories.receipts import OrderSpec, ReceiptSpec, receipt_pdf

CRLF = "\r\n"


@dataclass(frozen=True)
class Poison:
    name: str
    filename: str
    data: bytes
    expected: str            # the receipt status it must end with
    reason: str | None       # a fragment of the recorded reason (None: any)
    order: OrderSpec | None = None  # the order a good receipt inside it pays


def _mail(headers: list[str], body_parts: list[tuple[str, bytes | str]] | None = None,
          body: str = "In allegato la ricevuta.") -> bytes:
    """A hand-written MIME message (the email package would repair what we break)."""
    lines = [*headers, "MIME-Version: 1.0"]
    if not body_parts:
        lines += ["Content-Type: text/plain; charset=utf-8", "", body]
        return CRLF.join(lines).encode("utf-8", "surrogateescape")
    boundary = "poison-boundary"
    lines += [f'Content-Type: multipart/mixed; boundary="{boundary}"', "",
              f"--{boundary}", "Content-Type: text/plain; charset=utf-8", "", body]
    out = CRLF.join(lines).encode()
    for head, payload in body_parts:
        data = payload if isinstance(payload, bytes) else payload.encode()
        out += f"{CRLF}--{boundary}{CRLF}".encode() + head.encode("latin-1") + \
            (CRLF * 2).encode() + data
    return out + f"{CRLF}--{boundary}--{CRLF}".encode()


def _b64_part(filename: bytes | str, ctype: str, data: bytes) -> tuple[str, bytes]:
    import base64
    name = filename.decode("latin-1") if isinstance(filename, bytes) else filename
    head = (f'Content-Type: {ctype}; name="{name}"{CRLF}'
            f'Content-Disposition: attachment; filename="{name}"{CRLF}'
            "Content-Transfer-Encoding: base64")
    return head, base64.encodebytes(data).replace(b"\n", b"\r\n")


def _headers(sender: str, code: str, msgid: str) -> list[str]:
    return [f"From: {sender}", "To: amministrazione@example.it",
            f"Subject: Pagamento ordine {code}", "Date: Sat, 14 Mar 2026 10:30:00 +0100",
            f"Message-ID: <{msgid}@poison.example.com>"]


def _zip(pdf: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ricevuta.pdf", pdf)
    return buffer.getvalue()


def zip_offset_before_start(pdf: bytes) -> bytes:
    """The central directory's local-header offset points before the start of the file."""
    data = bytearray(_zip(pdf))
    eocd = data.rfind(b"PK\x05\x06")
    # the directory claims to start 100 bytes later than it does: the reader takes the
    # difference for bytes prepended to the archive, and the member's header lands at -100
    offset = struct.unpack_from("<I", data, eocd + 16)[0]
    struct.pack_into("<I", data, eocd + 16, offset + 100)
    return bytes(data)


def zip_damaged_deflate(pdf: bytes) -> bytes:
    """A member whose deflate data is damaged (CRC and sizes as the directory says)."""
    data = bytearray(_zip(pdf))
    start = 30 + len("ricevuta.pdf")
    for index in range(start + 40, start + 80):
        data[index] ^= 0x5A
    return bytes(data)


def pdf_with_name_mediabox(spec: ReceiptSpec) -> bytes:
    """A receipt PDF whose MediaBox holds a name where a number belongs."""
    pdf = receipt_pdf(spec)
    at = pdf.find(b"/MediaBox [")
    end = pdf.find(b"]", at)
    numbers = pdf[at + len(b"/MediaBox ["):end].split()
    numbers[2] = b"/Wide" + b" " * max(0, len(numbers[2]) - 5)
    return pdf[:at] + b"/MediaBox [" + b" ".join(numbers) + pdf[end:]


def pdf_inflating_hugely(megabytes: int = 128) -> bytes:
    """A small PDF whose one content stream inflates to ``megabytes`` MiB."""
    inflater = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    stream = b"".join(inflater.compress(chunk) for _ in range(megabytes)) + inflater.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
               + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def many_amounts_email(megabytes: float = 1.0) -> bytes:
    """Ordinary text with a thousand amounts per MiB (it took 122 s per MiB to extract)."""
    filler = "Nessun codice ordine in questa riga, solo testo ordinario. " * 16
    text, size, n = [], 0, 0
    while size < megabytes * 1024 * 1024:  # about 1 KiB per line, one amount in each
        text.append(f"Rata {n}: importo EUR {n % 997},89 pagato il 14/03/2026. {filler}\n")
        size += len(text[-1])
        n += 1
    return _mail(_headers("ufficio@example.com", "", "many-amounts"), body="".join(text))


def poisons() -> list[Poison]:
    """One message of each poison kind. Orders RLM960xx are the ones good receipts pay."""
    def spec(n: int) -> ReceiptSpec:
        return ReceiptSpec(codes=(f"RLM960{n:02d}",), payer="Mario Rossi",
                           reference=f"03069600000000{n:02d}")

    def order(n: int) -> OrderSpec:
        return OrderSpec(f"RLM960{n:02d}", Decimal("10.89"), "Mario Rossi",
                         f"cliente{n}@example.com")

    pdf = receipt_pdf(spec(99))
    return [
        Poison("from-group", "p01-from-group.eml", _mail(
            _headers("undisclosed-recipients:;", "RLM96001", "p01"),
            [_b64_part("ricevuta.pdf", "application/pdf", receipt_pdf(spec(1)))]),
            "matched", None, order(1)),
        Poison("from-ends-in-at", "p02-from-at.eml", _mail(
            _headers("Mario Rossi <mario@>", "RLM96002", "p02"),
            [_b64_part("ricevuta.pdf", "application/pdf", receipt_pdf(spec(2)))]),
            "matched", None, order(2)),
        Poison("html-cdata", "p03-html-cdata.eml", _mail(
            _headers("mario@example.com", "RLM96003", "p03"),
            [("Content-Type: text/html; charset=utf-8",
              "<html><body><p>Pagamento <![ x ordine</p></body></html>")],
            body=""), "unmatched", None),
        Poison("mediabox-name", "p04-mediabox.pdf", pdf_with_name_mediabox(spec(4)),
               "matched", None, order(4)),  # pypdfium2 reads what pdfplumber cannot
        Poison("zip-offset-before-start", "p05-zip-offset.eml", _mail(
            _headers("mario@example.com", "RLM96005", "p05"),
            [_b64_part("ricevute.zip", "application/zip", zip_offset_before_start(pdf))]),
            "quarantined", "cannot be extracted"),
        Poison("zip-damaged-deflate", "p06-zip-deflate.eml", _mail(
            _headers("mario@example.com", "RLM96006", "p06"),
            [_b64_part("ricevute.zip", "application/zip", zip_damaged_deflate(pdf))]),
            "quarantined", "cannot be extracted"),
        Poison("charset-nul", "p07-charset-nul.eml",
               _mail(_headers("mario@example.com", "RLM96007", "p07"))
               .replace(b"charset=utf-8", b'charset="utf\x00-8"'), "unmatched", None),
        Poison("filename-not-utf8", "p08-filename.eml", _mail(
            _headers("mario@example.com", "RLM96008", "p08"),
            [_b64_part(b"ricevuta-\xe8\xff.pdf", "application/pdf", receipt_pdf(spec(8)))]),
            "matched", None, order(8)),
        Poison("pdf-inflates-hugely", "p09-inflate.pdf", pdf_inflating_hugely(),
               "quarantined", "limits.max_pdf_inflated_bytes"),
        Poison("many-amounts", "p10-many-amounts.eml", many_amounts_email(1.0),
               "unmatched", None),
    ]
