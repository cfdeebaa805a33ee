"""Fixed-width layouts (issue 13): a causale cut at its column inside a code's prefix, and
values set after leader dots."""
from __future__ import annotations

from decimal import Decimal

from intake.fields import extract_fields


def test_a_causale_wrapped_inside_the_codes_prefix_gives_the_whole_code() -> None:
    """GIVEN a causale cut at a fixed column between the R and the LM of its second code
    THEN both codes are read, and no fragment."""
    text = ("MOTIVO ......... SALDO FATTURE RLM20001 ED R\nLM 20002 ANNO 2027\n")
    assert extract_fields(text).codes == ["RLM20001", "RLM20002"]
    assert extract_fields("Causale: rinnovo ordini RLM20001, RL\nM20003\n").codes == \
        ["RLM20001", "RLM20003"]


def test_a_line_ending_in_a_lone_r_is_no_code_prefix_without_the_rest() -> None:
    assert extract_fields("Beneficiario: Studio R\nLungomare 12\n").codes == []


def test_references_after_leader_dots() -> None:
    assert extract_fields("C.R.O. .............. 12345678901\n").transfer_ref == "12345678901"
    assert extract_fields("TRN:..... 0306912345678901234567IT\n").transfer_ref == \
        "0306912345678901234567IT"
    assert extract_fields("Numero di riferimento __________ AB123456\n").transfer_ref == \
        "AB123456"


def test_a_causale_wrapped_two_digits_into_a_code() -> None:
    """GIVEN a fixed-width causale cut two digits into its third code THEN the whole code."""
    text = "CAUSALE ...... RINNOVI RLM 10001, RLM 10002, RLM10\n003 PEC STUDIO\n"
    assert extract_fields(text).codes == ["RLM10001", "RLM10002", "RLM10003"]
    assert extract_fields("Rif. RLM 7 del catalogo\n").codes == []


def test_a_trn_that_the_customer_calls_cro() -> None:
    text = "Il CRO del bonifico e' 0306912345678901234567890IT, grazie.\n"
    assert extract_fields(text).transfer_ref == "0306912345678901234567890IT"
    assert extract_fields("CRO: 12345678901\n").transfer_ref == "12345678901"


def test_a_post_office_receipts_abbreviations() -> None:
    """GIVEN a counter receipt ('IMP' the amount, 'TASSA' the office's fee) and a slip's
    amount in words under a label OCR read without spaces THEN the amount, checked."""
    text = ("Ricevuta di versamento sul c/c 000012345678 di euro 31,20\n"
            "IMPORTOINLETTERE. TRENTUN0/20\n"
            "VCYL1234 02/03/2026 IMP 31,20 TASSA 1,80\n")
    fields = extract_fields(text)
    assert fields.amount == Decimal("31.20") and fields.doubts == []
    assert fields.evidence["amount"].confidence >= 0.9  # figures and words agree
    assert extract_fields("Vaglia IMP 31,20 TASSA 1,80\n").amount == Decimal("31.20")


def test_a_cheques_number_however_it_is_labelled() -> None:
    for text in ("Allego l'assegno n° 4455667788 di euro 30,00", "N. assegno: 4455667788",
                 "Numero dell'assegno bancario 4455667788", "ASSEGNO CIRCOLARE NR.4455667788"):
        assert extract_fields(text).transfer_ref == "4455667788", text
    assert extract_fields("Assegno intestato a Lextel, tel. 0612345678").transfer_ref is None


def test_an_app_amount_display_read_as_two_lines() -> None:
    """GIVEN a banking app's big figures and small decimals that OCR read as two lines
    THEN one amount, and the figures alone are never the amount."""
    text = "Bonifico SEPA\n- 128\n,45 €\nA favore di Studio Rossi\n"
    assert extract_fields(text).amount == Decimal("128.45")
    assert extract_fields("Importo\n€ 1.128\n,05\n").amount == Decimal("1128.05")
    assert extract_fields("Importo 128\nnote: ,45 di sconto\n").amount is None


def test_a_banks_letter_names_its_customer_as_the_payer() -> None:
    letter = ("Banca Esempio\nEgregio Sig. PIERO GALLO\nVia Roma 1\nTorino\n"
              "Gentile Cliente, il bonifico da lei disposto il 03/03/2026 per EUR 30,00 a "
              "favore di Lextel e' stato eseguito.\n")
    assert extract_fields(letter).payer == "PIERO GALLO"
    # a customer's letter to the provider: the addressee is the beneficiary
    own = ("Spett.le Lextel S.p.a.\nho disposto il bonifico di EUR 30,00 per RLM12345.\n")
    assert extract_fields(own).payer is None
    assert extract_fields("Spett.le Anna Neri\nVi inviamo il listino.\n").payer is None


def test_an_apps_outgoing_display_with_a_misread_decimal_comma() -> None:
    """GIVEN the signed display under a transfer's title, its comma read as '.' or ':'
    THEN the amount paid, positive, and no negative-amount doubt."""
    for display in ("-84.30", "- 84:30 €", "-1.084,30"):
        fields = extract_fields(f"Giroconto\n{display}\nBeneficiario Studio Neri\n")
        expected = Decimal("1084.30") if "1.0" in display else Decimal("84.30")
        assert fields.amount == expected and fields.doubts == [], display


def test_a_line_that_ends_after_the_prefixs_separator() -> None:
    assert extract_fields("CAUSALE: ORDINE RLM-\n20004 RINNOVO\n").codes == ["RLM20004"]
    assert extract_fields("Causale: ordine RLM n.\n20004\n").codes == ["RLM20004"]
    assert extract_fields("Saldo RLM\nIMPORTO 12,00\n").codes == []


def test_a_cheque_alone_gives_its_number_from_its_code_line() -> None:
    cheque = ("BANCA ESEMPIO € 30,00\nTorino, 02/03/2026\nPagate per questo assegno "
              "bancario euro trenta/00\na Studio Neri\nNON TRASFERIBILE\nPiero Gallo\n"
              "<1234567801> 03069 01000 000012345678\n")
    fields = extract_fields(cheque)
    assert fields.transfer_ref == "1234567801"
    assert fields.evidence["transfer_ref"].confidence < 0.9
    # the same digits on a bank transfer's page are no reference
    assert extract_fields("Bonifico\n1234567801 03069 01000 000012345678\n").transfer_ref is None


def test_ocr_speckles_before_an_upper_case_payer_are_dropped() -> None:
    assert extract_fields("ORDINANTE ..... e PIERO GALLO\n").payer == "PIERO GALLO"
    assert extract_fields("ORDINANTE ..... 2.3 ct PIERO GALLO\n").payer == "PIERO GALLO"
    assert extract_fields("Ordinante: de Luca Piero\n").payer == "de Luca Piero"
    assert extract_fields("Eseguito da: Indirizzo\n").payer is None
