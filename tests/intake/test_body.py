"""Customers' own words in email bodies (issue 13): totals over several orders, quoted
replies whose figures are the provider's, signatures with VAT and phone numbers, mailboxes;
and codes cut or wrapped in a causale."""
from __future__ import annotations

from decimal import Decimal

from intake.body import body_fields, split_body
from intake.fields import extract_fields

QUOTED = """Salve,
con un solo bonifico in data 10.05.2026 ho pagato gli ordini n. RLM21167 e RLM73267,\
totale € 512,45.
codice operazione 0503498020325290350614877IT
Restando in attesa di conferma, porgo cordiali saluti.

--
Dott. Davide Ferrara
Largo Augusto 131 - Padova
PEC: dferrara@geopec.it
C.F. e P.IVA 57126056622
Tel. 054 4787735

> Il giorno 05/05/2026 alle ore 09:18, Lextel S.p.a. <amministrazione@lextel.it> ha scritto:
> l'ordine RLM99999 per il rinnovo della casella altro@pec.it risulta in attesa di pagamento.
> Prezzo IVA esclusa: 420,04 EUR
> Beneficiario Lextel S.p.a., IBAN IT62 C032 6803 2030 5288 6541 770
"""


def test_a_total_over_several_orders_is_the_amount_paid() -> None:
    fields = body_fields(QUOTED)
    assert fields.codes == ["RLM21167", "RLM73267"]
    assert fields.amount == Decimal("512.45")
    assert fields.transfer_ref == "0503498020325290350614877IT"


def test_the_quoted_reply_is_the_providers_text_not_the_customers() -> None:
    fields = body_fields(QUOTED)
    assert "RLM99999" not in fields.codes
    assert fields.iban is None  # the provider's IBAN, quoted, is no evidence
    assert "altro@pec.it" not in fields.mailboxes
    assert split_body(QUOTED).quoted.startswith("> Il giorno")


def test_the_signature_names_the_payer_and_the_writers_pec_never_a_reference() -> None:
    fields = body_fields(QUOTED)
    assert fields.payer == "Davide Ferrara"
    assert fields.mailboxes == ["dferrara@geopec.it"]
    assert fields.transfer_ref != "57126056622"


def test_a_body_of_only_vat_and_phone_numbers_gives_no_amount_or_reference() -> None:
    fields = body_fields("Buongiorno,\nvi scrivo per il rinnovo.\nCordiali saluti\n"
                         "Mario Rossi\nP.IVA 01234567890\nTel. 06.45475870\nCell. 333 1234567\n")
    assert fields.amount is None and fields.transfer_ref is None and fields.codes == []
    assert fields.payer == "Mario Rossi"


def test_a_wrapped_causale_gives_the_whole_code_never_the_fragment() -> None:
    fields = extract_fields("Causale: pagamento codice ordine RLM123\n45 grazie\n")
    assert fields.codes == ["RLM12345"]


def test_a_code_cut_by_an_ellipsis_is_no_code() -> None:
    assert extract_fields("Causale: Rinnovo PEC ordine RLM121…").codes == []
    assert extract_fields("Causale: Rinnovo PEC ordine RLM 95...").codes == []
    assert extract_fields("Causale: ordine RLM95055 rinnovo cas…").codes == ["RLM95055"]


def test_mailboxes_are_pec_addresses_and_userids_lower_cased() -> None:
    fields = extract_fields("Causale: Rinnovo casella Mario.Rossi@PEC.Avvocati.it\n"
                            "userid: KVIS1234\nscrivere a amministrazione@lextel.it\n"
                            "mario@gmail.com\n")
    assert fields.mailboxes == ["mario.rossi@pec.avvocati.it", "kvis1234"]


def test_payer_labels_of_statements_and_apps_and_never_a_banks_branch() -> None:
    assert extract_fields("Titolare\nIvo Sanna\n").payer == "Ivo Sanna"
    assert extract_fields("Intestatario: ILARIA CONTI\n").payer == "ILARIA CONTI"
    assert extract_fields("Cordiali saluti\nBanca di Asti - Filiale di Ancona\n").payer is None
