"""The text layer's fast path (PDFium) where the layout is plain, pdfplumber where it is not:
the same lines and fields either way, word boxes for the review UI, and never a guess on a
two-column page."""
from __future__ import annotations

import io
import random
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from config.settings import LimitSettings
from intake.fields import extract_fields
from intake.message import Document
from intake.text import _pdf_text_layer, _pdfium_text_layer, locate, read_document
from tests.factories.mailboxes import random_spec
from tests.factories.receipts import STYLES, ReceiptSpec, receipt_pdf

LIMITS = LimitSettings()
FIELDS = ("codes", "amount", "iban", "transfer_ref", "payment_date", "payer", "method")


def _doc(data: bytes) -> Document:
    return Document(filename="r.pdf", content_type="application/pdf", data=data,
                    origin="attachment")


def test_plain_receipts_read_the_same_lines_and_fields_as_pdfplumber() -> None:
    rng = random.Random(14)
    specs = [ReceiptSpec(codes=("RLM95055",), style=s) for s in STYLES]
    specs += [random_spec(rng, f"RLM{90000 + i}", Decimal("10.89")) for i in range(30)]
    for spec in specs:
        doc = _doc(receipt_pdf(spec))
        fast, slow = _pdfium_text_layer(doc, LIMITS), _pdf_text_layer(doc, LIMITS)
        assert fast is not None, spec.style  # plain layouts take the fast path
        assert [line.strip() for p in fast for line in p.text.splitlines() if line.strip()] \
            == [line.strip() for p in slow for line in p.text.splitlines() if line.strip()]
        a = extract_fields("\n".join(p.text for p in fast))
        b = extract_fields("\n".join(p.text for p in slow))
        assert [getattr(a, f) for f in FIELDS] == [getattr(b, f) for f in FIELDS]


def test_word_boxes_locate_a_value_where_pdfplumber_does() -> None:
    doc = _doc(receipt_pdf(ReceiptSpec(codes=("RLM95055",))))
    fast = read_document(doc, LIMITS)
    (box, *_) = locate(fast, "RLM95055")
    from intake.text import DocumentText
    (ref, *_) = locate(DocumentText(_pdf_text_layer(doc, LIMITS)), "RLM95055")
    assert box.page == ref.page == 1
    assert abs(box.x0 - ref.x0) < 0.01 and abs(box.y0 - ref.y0) < 0.02


def _two_columns() -> bytes:
    """The left column written first, then the right one: in content order the rows of the
    two columns are apart, on the page they are side by side."""
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    left = ["Ordinante", "Mario Rossi", "IT60X0542811101000000123456"]
    right = ["Beneficiario", "Lextel SpA", "IT62C0326803203052886541770"]
    for column, x in ((left, 60), (right, 320)):
        for row, text in enumerate(column):
            page.drawString(x, 760 - 20 * row, text)
    page.drawString(60, 600, "Importo EUR 10,89 causale ordine RLM95055 rinnovo casella")
    page.save()
    return out.getvalue()


def test_two_columns_side_by_side_go_to_pdfplumber() -> None:
    doc = _doc(_two_columns())
    assert _pdfium_text_layer(doc, LIMITS) is None
    text = read_document(doc, LIMITS).text
    assert "Ordinante Beneficiario" in " ".join(text.split())  # rows as a person reads them


def test_damaged_and_encrypted_files_are_left_to_the_careful_path() -> None:
    assert _pdfium_text_layer(_doc(b"%PDF-1.4\nnot really"), LIMITS) is None
    data = receipt_pdf(ReceiptSpec(codes=("RLM95055",)))
    assert _pdfium_text_layer(_doc(data[: len(data) // 3]), LIMITS) is None
