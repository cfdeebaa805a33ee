"""The Italian customer emails: what each one must say, in plain text and in HTML."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from matching.orders import Order
from notifier import compose
from notifier.transport import build_message

ORDER = Order(code="RLM95055", userid="U95055", pec_address="mario.rossi@pec.avvocati.example.it",
              customer_name="Mario <Rossi> & figli", customer_email="mario.rossi@example.com",
              amount=Decimal("10.89"), expiry_date=date(2026, 4, 22), years=1)


def test_renewal_done_summarises_the_renewed_mailbox() -> None:
    """GIVEN a renewed order WHEN the mail is composed THEN it states the address and the new
    expiry (what the guide promises), in both parts, to the profile's address."""
    mail = compose.renewal_done(ORDER, date(2027, 4, 22), "Amministrazione PEC")
    assert mail.to == "mario.rossi@example.com"
    assert mail.template == "renewal_done"
    assert mail.subject == "Rinnovo effettuato - casella PEC mario.rossi@pec.avvocati.example.it"
    for part in (mail.text, mail.html):
        assert "mario.rossi@pec.avvocati.example.it" in part
        assert "Nuova data di scadenza" in part and "22/04/2027" in part
        assert "22/04/2026" in part and "RLM95055" in part and "U95055" in part
        assert "1 anno" in part
    assert "Mario <Rossi> & figli" in mail.text
    assert "Mario &lt;Rossi&gt; &amp; figli" in mail.html  # HTML is escaped


def test_renewal_done_for_several_years() -> None:
    order = Order(**{**ORDER.__dict__, "years": 3})
    mail = compose.renewal_done(order, date(2029, 4, 22), "Amministrazione PEC")
    assert "3 anni" in mail.text and "22/04/2029" in mail.text


def test_payment_received_says_when_the_renewal_happens() -> None:
    due = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)  # 10:30 in Rome (CET)
    mail = compose.payment_received(ORDER, Decimal("10.89"), due, "Amministrazione PEC")
    assert mail.subject == "Pagamento ricevuto - ordine RLM95055"
    for part in (mail.text, mail.html):
        assert "10,89" in part and "15/03/2026" in part and "10:30" in part
        assert "mario.rossi@pec.avvocati.example.it" in part


@pytest.mark.parametrize(("what", "subject_says", "body_says"), [
    ("readable_proof", "Ricevuta di pagamento non leggibile", "copia leggibile"),
    ("missing_code", "Codice ordine mancante", "codice dell'ordine"),
])
def test_proof_requests(what: str, subject_says: str, body_says: str) -> None:
    mail = compose.proof_request(what, "mario.rossi@example.com", "Amministrazione PEC",
                                 subject="Ricevuta\n bonifico",
                                 received_at=datetime(2026, 3, 14, 23, 30, tzinfo=UTC),
                                 filename="foto.jpg", note="manca la seconda pagina")
    assert mail.subject == f"Re: Ricevuta bonifico - {subject_says}"
    for part in (mail.text, mail.html):
        assert body_says in part
        assert "15/03/2026" in part  # the local (Rome) day it arrived
        assert "foto.jpg" in part and "manca la seconda pagina" in part


def test_unknown_proof_request_is_refused() -> None:
    with pytest.raises(ValueError):
        compose.proof_request("please_pay", "a@example.com", "X")


def test_every_mail_is_marked_automatic_with_both_parts() -> None:
    """RFC 3834 Auto-Submitted, and RFC 5322 Message-ID and Date on every mail."""
    mail = compose.renewal_done(ORDER, date(2027, 4, 22), "Amministrazione PEC")
    msg = build_message(sender="amministrazione@example.it", sender_name="Amministrazione PEC",
                        to=mail.to, subject=mail.subject, text=mail.text, html=mail.html,
                        message_id="<abc@example.it>",
                        date=datetime(2026, 3, 15, 9, 0, tzinfo=UTC))
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"] == "<abc@example.it>"
    assert msg["Date"] == "Sun, 15 Mar 2026 09:00:00 +0000"
    assert msg["From"] == "Amministrazione PEC <amministrazione@example.it>"
    assert msg.get_content_type() == "multipart/alternative"
    assert "22/04/2027" in msg.get_body(("plain",)).get_content()
    assert "22/04/2027" in msg.get_body(("html",)).get_content()
