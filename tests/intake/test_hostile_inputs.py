"""The inputs the fuzzer found raising inside intake before issue 11 (one test per site),
each rebuilt in code: every one is now an expected outcome (a reason), never an exception."""
from __future__ import annotations

import pytest

from config.settings import LimitSettings
from core.errors import BadDocument, BadMessage
from intake.htmltext import html_to_text
from intake.message import Document, parse_mail
from intake.text import _pdf_text_layer, check_pdf_streams, read_document
from tests.factories.mailboxes import mail_with
from tests.factories.poison import (
    pdf_inflating_hugely,
    pdf_with_name_mediabox,
    zip_damaged_deflate,
    zip_offset_before_start,
)
from tests.factories.receipts import ReceiptSpec, receipt_pdf

PDF = receipt_pdf(ReceiptSpec())


def _pdf(data: bytes) -> Document:
    return Document("ricevuta.pdf", "application/pdf", data, "file")


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("MediaBox holding a name", pdf_with_name_mediabox(ReceiptSpec()), "corrupt PDF"),
    ("MediaBox null", PDF.replace(b"/MediaBox [ 0 0 595.2756 841.8898 ]",
                                  b"/MediaBox null                   "), "TypeError"),
    ("dictionary with an odd item", PDF.replace(b"/ProcSet", b"/S /ProcSet", 1),
     "Invalid dictionary construct"),
    ("stream inflating to 128 MiB", pdf_inflating_hugely(),
     "limits.max_pdf_inflated_bytes"),
])
def test_hostile_pdfs_are_corrupt_documents(name, data, reason):
    """pdfplumber's path (the fallback behind pypdfium2's text layer) calls them corrupt,
    its close never re-raising over that; the whole read either reads them or says so."""
    if "inflating" in name:
        with pytest.raises(BadDocument, match=reason):
            read_document(_pdf(data), LimitSettings())
        return
    with pytest.raises(BadDocument) as caught:
        _pdf_text_layer(_pdf(data), LimitSettings())
    assert reason in caught.value.reason, name
    try:
        read_document(_pdf(data), LimitSettings())
    except BadDocument:
        pass


def test_the_inflation_check_leaves_ordinary_pdfs_alone():
    check_pdf_streams(PDF, LimitSettings().max_pdf_inflated_bytes, "ricevuta.pdf")
    assert "Mario Rossi" in read_document(_pdf(PDF), LimitSettings()).text


@pytest.mark.parametrize("build", [zip_offset_before_start, zip_damaged_deflate])
def test_damaged_zips_are_refused_with_a_reason(build):
    raw = mail_with([("ricevute.zip", "application/zip", build(PDF))])
    with pytest.raises(BadMessage, match="cannot be extracted"):
        parse_mail(raw)


@pytest.mark.parametrize("sender", ["undisclosed-recipients:;", "Mario Rossi <mario@>",
                                    "Mario RossFrom: mario@", '"\\" <@>'])
def test_hostile_from_headers_parse(sender):
    raw = (f"From: {sender}\r\nTo: a@example.it\r\nSubject: ricevuta RLM95055\r\n"
           "Message-ID: <x@example.com>\r\n\r\nPagato 10,89 euro.\r\n").encode()
    parsed = parse_mail(raw)
    assert parsed.kind == "payment" and "10,89" in parsed.body_text


def test_a_charset_with_a_nul_is_read_as_utf8():
    raw = (b"From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: text/plain; charset="utf\x00-8"\r\n\r\nPagato RLM95055\r\n')
    assert "RLM95055" in parse_mail(raw).body_text


def test_markup_the_html_parser_rejects_is_read_without_tags():
    assert html_to_text("<p>Pagato <![ x RLM95055</p><p>10,89 &euro;</p>") == \
        "Pagato <![ x RLM95055 10,89 €"


def test_a_file_name_that_is_not_utf8_is_kept_readable():
    raw = (b"From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
           b"Content-Type: text/plain\r\n\r\nin allegato\r\n--b\r\n"
           b'Content-Type: application/pdf; name="ricevuta-\xe8\xff.pdf"\r\n'
           b'Content-Disposition: attachment; filename="ricevuta-\xe8\xff.pdf"\r\n'
           b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n")
    (doc,) = [d for d in parse_mail(raw).documents if d.origin == "attachment"]
    assert doc.filename and doc.filename.endswith(".pdf")
    doc.filename.encode("utf-8")  # storable as text
