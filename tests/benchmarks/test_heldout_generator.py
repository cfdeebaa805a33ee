"""The held-out generator: deterministic by seed, and every document's ground truth is what
the document says (so a miss in the benchmark is the reader's, not the generator's)."""
from __future__ import annotations

import email
import io
import re
from datetime import date
from decimal import Decimal
from email import policy

import pytest
from schwifty import IBAN

from benchmarks.heldout import KINDS, SEEDS, corpus, make
from benchmarks.heldout.truth import it_money
from benchmarks.heldout.words import integer_words, slash_words, spoken_words

pytestmark = pytest.mark.skipif(not __import__("shutil").which("gs"),
                                reason="Ghostscript is needed for the fax kinds")


def _flat(text: str) -> str:
    """Text with line breaks and separators inside codes removed: 'RLM-123\\n45' -> RLM12345."""
    text = re.sub(r"\s*\n\s*", "", text)
    return re.sub(r"(?i)rlm[\s-]?(?=\d)", "RLM", text).upper()


def _pdf_text(data: bytes) -> str:
    import pdfplumber
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def _body_text(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=policy.default)
    body = message.get_body(("plain", "html"))
    return re.sub(r"<[^>]+>", "\n", body.get_content())


@pytest.fixture(scope="module")
def one_of_each():
    return list(corpus("development", 1))


def test_same_seed_same_bytes_other_seed_other_bytes(one_of_each):
    made = {doc.kind: doc for doc in one_of_each}
    for kind in ("text_pdf", "email_body", "screenshot", "fax_fine"):
        again = make(kind, 0, "development")
        assert again.data == made[kind].data and again.truth == made[kind].truth, kind
        assert make(kind, 0, "validation").data != again.data, kind
    assert SEEDS["validation"] != SEEDS["development"]


def test_every_kind_is_made_with_a_truth_that_holds_together(one_of_each):
    assert [doc.kind for doc in one_of_each] == list(KINDS)
    for doc in one_of_each:
        truth = doc.truth
        assert doc.data and doc.name.startswith(doc.kind)
        assert all(re.fullmatch(r"RLM\d{5}", code) for code in truth.codes), doc.name
        assert truth.codes or truth.mailboxes or doc.kind == "screenshot", doc.name
        assert Decimal(truth.amount) > 0 and Decimal(truth.amount).as_tuple().exponent == -2
        if truth.iban:
            IBAN(truth.iban)  # a valid checksum, or this raises
        if truth.payment_date:
            date.fromisoformat(truth.payment_date)
        if truth.reference:
            assert truth.reference in truth.references
        assert truth.method in ("bonifico", "bollettino", "assegno")
        assert doc.image_pages <= max(doc.pages, 1)


def test_text_documents_print_their_truth(one_of_each):
    """GIVEN the documents with text in them (text PDFs, email bodies)
    THEN their text holds every true code, the amount (in figures or words), and the IBAN."""
    docs = [make("text_pdf", i, "development") for i in range(6)] + \
        [make("email_body", i, "development") for i in range(6)]
    for doc in docs:
        text = _pdf_text(doc.data) if doc.name.endswith(".pdf") else _body_text(doc.data)
        flat = _flat(text)
        for code in doc.truth.codes:
            assert code in flat, (doc.name, code)
        amount = Decimal(doc.truth.amount)
        assert it_money(amount) in text or slash_words(amount) in text \
            or spoken_words(amount) in text, doc.name
        if doc.truth.iban:
            assert doc.truth.iban in text.replace(" ", ""), doc.name
        if doc.truth.reference:
            assert doc.truth.reference in text, doc.name
        for mailbox in doc.truth.mailboxes:
            assert mailbox in text.lower(), doc.name


def test_amounts_in_words():
    assert integer_words(21) == "ventuno" and integer_words(38) == "trentotto"
    assert integer_words(183) == "centottantatré"
    assert integer_words(1234) == "milleduecentotrentaquattro"
    assert slash_words(Decimal("10.89")) == "dieci/89"
    assert spoken_words(Decimal("10.89")) == "dieci euro e ottantanove centesimi"
