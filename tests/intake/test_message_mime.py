"""MIME shapes customers and fax gateways send, as tables: message in, documents out."""
from __future__ import annotations

import io
import struct
import zipfile
from email.message import EmailMessage

import pytest

from config.settings import LimitSettings
from core.errors import BadMessage
from intake.message import parse_incoming, parse_mail
from intake.sources.base import IncomingMessage
from tests.factories.mailboxes import (
    fax_gateway_mail,
    fax_tiff,
    mail_with,
    zip_bomb,
    zip_of,
)
from tests.factories.receipts import ReceiptSpec, receipt_email, receipt_pdf

PDF = receipt_pdf(ReceiptSpec())


def _mail(build) -> bytes:  # noqa: ANN001
    msg = EmailMessage()
    msg["From"] = "Mario Rossi <mario.rossi@example.com>"
    msg["To"] = "amministrazione@example.it"
    msg["Subject"] = "Ricevuta"
    msg["Message-ID"] = "<m1@example.com>"
    build(msg)
    return bytes(msg)


def _rfc2231(msg: EmailMessage) -> None:
    msg.set_content("In allegato.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf",
                       filename=("utf-8", "it", "ricevuta pagamento è.pdf"))


def _rfc2047_name(msg: EmailMessage) -> None:
    msg.set_content("In allegato.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="x.pdf")
    part = msg.get_payload()[1]
    del part["Content-Disposition"]
    part["Content-Disposition"] = 'attachment; filename="=?UTF-8?B?cmljZXZ1dGHDoC5wZGY=?="'


def _forwarded(msg: EmailMessage) -> None:
    msg.set_content("Ti inoltro la ricevuta.")
    inner = EmailMessage()
    inner["Subject"] = "Ricevuta"
    inner.set_content("vedi allegato")
    inner.add_attachment(PDF, maintype="application", subtype="pdf", filename="bonifico.pdf")
    msg.add_attachment(inner)


def _related_inline_image(msg: EmailMessage) -> None:
    msg.set_content("Ricevuta nel corpo")
    msg.add_alternative('<p>Ricevuta <img src="cid:img1"> <img src="https://tracker.example/x.png">'
                        "</p>", subtype="html")
    html = msg.get_payload()[1]
    html.add_related(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, maintype="image", subtype="png",
                     cid="<img1>", filename="logo.png")


def _html_only(msg: EmailMessage) -> None:
    msg.set_content("<html><body><p>Bonifico ordine RLM95055</p>"
                    '<img src="http://remote.example/pixel.gif"></body></html>', subtype="html")


def _zip(msg: EmailMessage) -> None:
    msg.set_content("In allegato lo zip.")
    msg.add_attachment(zip_of({"docs/ricevuta.pdf": PDF, "leggimi.exe": b"MZ"}),
                       maintype="application", subtype="zip", filename="ricevuta.zip")


@pytest.mark.parametrize(("build", "expected"), [
    (_rfc2231, [("ricevuta pagamento è.pdf", "pdf"), (None, "text")]),
    (_rfc2047_name, [("ricevutaà.pdf", "pdf"), (None, "text")]),
    (_forwarded, [("bonifico.pdf", "pdf"), (None, "text")]),
    (_related_inline_image, [("logo.png", "png"), (None, "text")]),
    (_html_only, [(None, "text")]),
    (_zip, [("ricevuta.pdf", "pdf"), (None, "text")]),
], ids=["rfc2231-name", "rfc2047-name", "forwarded-rfc822", "related-inline-image",
        "html-only", "zip-with-pdf"])
def test_documents_at_any_depth(build, expected):
    parsed = parse_mail(_mail(build))
    assert [(d.filename, d.kind) for d in parsed.documents] == expected
    assert parsed.message_id == "<m1@example.com>"


def test_html_body_is_reduced_to_text_without_fetching_anything():
    parsed = parse_mail(_mail(_html_only))
    assert "RLM95055" in parsed.body_text
    assert "remote.example" not in parsed.body_text and "<" not in parsed.body_text


def test_broken_rfc2047_filename_from_the_pec_corpus_is_repaired():
    """go-pec's email_2 names its PDFs '=pdf.pdf?=' (fragments of an encoded word)."""
    msg = _mail(lambda m: (m.set_content("x"), m.add_attachment(
        PDF, maintype="application", subtype="pdf", filename="=pdf.pdf?=")))
    assert parse_mail(msg).documents[0].filename == "pdf.pdf"


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", "empty message"),
    (b"   \r\n", "empty message"),
    (b"\x00\x01garbage without headers", "not a MIME message"),
    (mail_with([("ricevuta.pdf", "application/pdf", b"")]), "ricevuta.pdf: empty attachment"),
    (mail_with([("ricevuta.zip", "application/zip", zip_bomb(64))]), "zip bomb"),
    (mail_with([("ricevuta.zip", "application/zip", b"PK\x03\x04broken")]), "corrupt zip"),
    (mail_with([("big.pdf", "application/pdf", PDF + b"%" * 100_000)]),
     "over the attachment limit of 90000 bytes"),
], ids=["0-bytes", "blank", "no-headers", "0-byte-attachment", "zip-bomb", "corrupt-zip",
        "attachment-over-limit"])
def test_bad_input_is_refused_with_a_reason(raw, reason):
    incoming = IncomingMessage("inbox", "k", raw, None, is_mail=True)
    with pytest.raises(BadMessage, match=reason):
        parse_incoming(incoming, LimitSettings(max_attachment_bytes=90_000))


def test_zip_bomb_that_lies_about_its_size_is_stopped_while_reading():
    """GIVEN a zip whose headers claim 1000 bytes for a member that inflates to 40 MB
    THEN it is refused without inflating it (zipfile reads only the declared size and
    then fails its CRC check; the reader's own cap stops anything beyond the limit)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ricevuta.pdf", b"\0" * (40 * 1024 * 1024))
    bomb = bytearray(buffer.getvalue())
    local, central = bomb.find(b"PK\x03\x04"), bomb.find(b"PK\x01\x02")
    bomb[local + 22:local + 26] = struct.pack("<I", 1000)
    bomb[central + 24:central + 28] = struct.pack("<I", 1000)
    raw = mail_with([("r.zip", "application/zip", bytes(bomb))])
    with pytest.raises(BadMessage, match="r.zip: (zip bomb|ricevuta.pdf cannot be extracted)"):
        parse_mail(raw, LimitSettings(max_attachment_bytes=10 * 1024 * 1024))


def test_message_over_the_message_limit_is_refused():
    raw = receipt_email(ReceiptSpec())
    incoming = IncomingMessage("inbox", "k", raw, None, is_mail=True)
    with pytest.raises(BadMessage, match="over the limit"):
        parse_incoming(incoming, LimitSettings(max_message_bytes=len(raw) - 1))


def test_good_attachment_beside_a_bad_one_is_kept_with_a_note():
    parsed = parse_mail(mail_with([("vuoto.pdf", "application/pdf", b""),
                                   ("ricevuta.pdf", "application/pdf", PDF)]))
    assert [d.filename for d in parsed.documents if d.origin == "attachment"] == ["ricevuta.pdf"]


# --- fax gateway --------------------------------------------------------------------------

def test_fax_gateway_keeps_the_fax_pages_and_ignores_the_boilerplate():
    tiff = fax_tiff(pages=2)
    raw = fax_gateway_mail([("fax_0612345.tif", "image/tiff", tiff)], pages=2)
    parsed = parse_incoming(IncomingMessage("fax", "1", raw, None, True, fax_gateway=True))
    assert [(d.filename, d.kind, d.origin) for d in parsed.documents] == \
        [("fax_0612345.tif", "tiff", "attachment")]
    # the gateway's promo text carries a code-like string: it must not reach the reading
    assert all(d.origin != "body" for d in parsed.documents)
    assert parsed.fax == {"calling_number": "+39 06 5551234", "pages": "2",
                          "received_at": "14/03/2026 10:31:07"}


def test_fax_gateway_pdf_fax_and_gateway_headers():
    raw = fax_gateway_mail([("fax.pdf", "application/pdf", PDF)])
    raw = b"X-Fax-Caller: 0039065550000\r\nX-Fax-Pages: 1\r\n" + raw
    parsed = parse_incoming(IncomingMessage("fax", "1", raw, None, True, fax_gateway=True))
    assert [d.kind for d in parsed.documents] == ["pdf"]
    assert parsed.fax["calling_number"] == "0039065550000"
    assert parsed.fax["pages"] == "1"


def test_fax_gateway_message_without_a_fax_is_refused():
    raw = fax_gateway_mail([])
    with pytest.raises(BadMessage, match="without a fax attachment"):
        parse_incoming(IncomingMessage("fax", "1", raw, None, True, fax_gateway=True))


def test_customer_mail_with_a_tiff_is_not_a_fax():
    raw = mail_with([("scan.tif", "image/tiff", fax_tiff())], body="Ricevuta RLM95055")
    parsed = parse_incoming(IncomingMessage("inbox", "1", raw, None, True))
    assert [d.origin for d in parsed.documents] == ["attachment", "body"]
    assert parsed.fax == {}
