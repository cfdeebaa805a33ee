"""Mailboxes named in a causale (issue 13): certified-mail domains, and addresses or userids
that a fixed-width layout cut at its column."""
from __future__ import annotations

from intake.body import body_fields
from intake.fields import extract_fields


def test_a_certified_mail_domain_is_a_pec_address() -> None:
    assert extract_fields("Motivo: saldo ANNA.NERI@POSTACERTIFICATA.EU\n").mailboxes == \
        ["anna.neri@postacertificata.eu"]
    assert extract_fields("scrivere a pbianchi@certmail.it\n").mailboxes == ["pbianchi@certmail.it"]


def test_a_domain_cut_at_the_line_end_is_joined() -> None:
    text = "DESCRIZIONE ..... RINNOVO 2027 PER ANNA.NERI@STUDIOPE\nC.IT ANNO\n"
    assert extract_fields(text).mailboxes == ["anna.neri@studiopec.it"]


def test_a_local_part_cut_at_a_fixed_column_is_joined() -> None:
    text = ("DESCRIZIONE ..... RINNOVO ANNUALE PER LA CASELLA ANERIST\nUDIO@LEGALMAIL.IT\n"
            "IMPORTO ......... EUR 30,00\n")
    assert extract_fields(text).mailboxes == ["aneristudio@legalmail.it"]


def test_a_userid_label_cut_at_a_fixed_column() -> None:
    text = ("DESCRIZIONE ..... RINNOVO CASELLA ANERI@LEGALMAIL.IT PER UTEN\nZA ANERI77 GRAZIE\n")
    assert extract_fields(text).mailboxes == ["aneri@legalmail.it", "aneri77"]


def test_an_address_that_ends_its_line_is_not_glued_to_the_next_word() -> None:
    text = "Rinnovo della casella mario.rossi@pec.it\nGrazie mille\n"
    assert extract_fields(text).mailboxes == ["mario.rossi@pec.it"]
    body = ("Buongiorno, vi scrivo per il rinnovo della casella indicata qui\n"
            "mario.rossi@pec.it\nSaluti\n")
    assert body_fields(body).mailboxes == ["mario.rossi@pec.it"]


def test_an_address_cut_by_an_ellipsis_is_no_mailbox() -> None:
    assert extract_fields("Causale: rinnovo casella anna@pec.avv...\n").mailboxes == []
    assert extract_fields("Causale: rinnovo casella anna@pec.avvocati.i…\n").mailboxes == []
    assert extract_fields("Rinnovo casella anna@pec.it... grazie\n").mailboxes == ["anna@pec.it"]


def test_an_address_cut_at_the_end_of_an_apps_line_is_no_mailbox() -> None:
    """GIVEN OCR of an app's causale cut with an ellipsis it did not read THEN the fragment
    ('...@pec.avvoc') is no mailbox, while a whole address at a line's end stays."""
    assert extract_fields("Causale\nRINNOVO CASELLA ANNA@PEC.AVVOC\n").mailboxes == []
    assert extract_fields("Causale\nRINNOVO CASELLA ANNA@PEC.AVVOCATI.IT\n").mailboxes == \
        ["anna@pec.avvocati.it"]
