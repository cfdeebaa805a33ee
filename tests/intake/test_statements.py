"""Bank statement parsers: every format and camt version, written by our factories from the
same transfers, read back the same; the real-world files of ../shared/corpus as layout
references; hostile XML refused."""
from __future__ import annotations

import random
from decimal import Decimal

import pytest

from app.errors import BadDocument
from intake.statements import (
    BANCOPOSTA,
    CBI,
    CREDIT,
    DEBIT,
    MT940,
    detect_format,
    parse_statement,
)
from tests.conftest import CORPUS
from tests.factories.statements import (
    CAMT_VERSIONS,
    WRITERS,
    Batch,
    Statement,
    Transfer,
    bancoposta_csv,
    camt,
    cbi,
    mt940,
)

ROSSI = Transfer(Decimal("10.89"), "Rinnovo PEC ordine RLM95055", "0306912345678901",
                 end_to_end="E2E-ROSSI-1", extra_info="BONIFICO SEPA DA MARIO ROSSI")
FEE = Transfer(Decimal("1.50"), "Commissioni bonifico", "FEE0000000000001", payer="Banca Sella",
               credit=False)
BATCH = Batch((Transfer(Decimal("10.89"), "RLM95057", "0306900000000003", payer="Luca Esposito"),
               Transfer(Decimal("21.78"), "ordine RLM95056", "0306900000000002",
                        payer="Giulia Bianchi")))
STATEMENT = Statement([ROSSI, FEE, BATCH])


def _credits(parsed):  # noqa: ANN001, ANN202
    return [line for line in parsed.lines if line.direction == CREDIT]


@pytest.mark.parametrize("kind", ["052", "053", "054"])
@pytest.mark.parametrize("version", CAMT_VERSIONS)
def test_camt_every_version_reads_the_same_lines(kind: str, version: str) -> None:
    parsed = parse_statement(camt(STATEMENT, kind, version))
    assert (parsed.format, parsed.version) == (f"camt.{kind}", version)
    assert parsed.rejected == [] and parsed.accounts == ["IT62C0326803203052886541770"]
    # the batch booking is split into its two transfers; the debit is kept
    assert [(ln.direction, ln.amount, ln.payer) for ln in parsed.lines] == [
        (CREDIT, Decimal("10.89"), "Mario Rossi"), (DEBIT, Decimal("1.50"), None),
        (CREDIT, Decimal("10.89"), "Luca Esposito"), (CREDIT, Decimal("21.78"), "Giulia Bianchi")]
    rossi = parsed.lines[0]
    assert isinstance(rossi.amount, Decimal)
    kinds = {r.kind: r.value for r in rossi.references}
    assert kinds["AcctSvcrRef"] == "0306912345678901" and kinds["EndToEndId"] == "E2E-ROSSI-1"
    assert kinds["NtryAcctSvcrRef"] == "E0306912345678901"
    # Ustrd and AddtlTxInf both, neither overwriting the other
    assert rossi.text() == "Rinnovo PEC ordine RLM95055 | BONIFICO SEPA DA MARIO ROSSI"
    assert parsed.lines[2].bank_reference == "0306900000000003"
    assert {r.value for r in parsed.lines[3].references} >= {"0306900000000002", "BATCH0001"}


def test_camt_ustrd_chunks_cut_at_140_characters_join_without_a_space() -> None:
    causale = "X" * 135 + " RLM95055 rinnovo"  # the code straddles the 140-character cut
    parsed = parse_statement(camt(Statement([Transfer(Decimal("10.89"), causale, "R1")])))
    assert "RLM95055 rinnovo" in parsed.lines[0].text()


def test_camt_batch_whose_amounts_do_not_add_up_is_kept_as_one_line() -> None:
    xml = camt(Statement([BATCH])).replace(b'<Amt Ccy="EUR">32.67</Amt>',
                                           b'<Amt Ccy="EUR">40.00</Amt>', 1)
    parsed = parse_statement(xml)
    assert len(parsed.lines) == 1 and parsed.lines[0].amount == Decimal("40.00")
    assert "do not add up" in parsed.rejected[0].reason
    assert "RLM95057" in parsed.lines[0].text() and "RLM95056" in parsed.lines[0].text()


def test_camt_pending_entry_and_bad_amount_are_rejected_with_reasons() -> None:
    xml = camt(Statement([ROSSI, FEE]), "053", "001.04")
    xml = xml.replace(b"<Sts>BOOK</Sts>", b"<Sts>PDNG</Sts>", 1)
    xml = xml.replace(b'<Ntry><Amt Ccy="EUR">1.50</Amt>', b'<Ntry><Amt Ccy="EUR">1,50</Amt>')
    parsed = parse_statement(xml)
    assert parsed.lines == []
    reasons = [r.reason for r in parsed.rejected]
    assert "not booked" in reasons[0] and "'1,50' is not a number" in reasons[1]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>&lol3;
</BkToCstmrStmt></Document>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document><BkToCstmrStmt><Stmt><Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/camt.dtd"><Document/>"""


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD],
                         ids=["billion-laughs", "external-entity", "external-dtd"])
def test_hostile_xml_is_refused_with_a_reason(hostile: bytes) -> None:
    with pytest.raises(BadDocument) as refused:
        parse_statement(hostile)
    assert "XML refused" in refused.value.reason and "DTD" in refused.value.reason


def test_other_xml_and_garbage_are_refused() -> None:
    with pytest.raises(BadDocument, match="not a camt"):
        parse_statement(b"<?xml version='1.0'?><Invoice><Total>1</Total></Invoice>")
    with pytest.raises(BadDocument, match="not well-formed"):
        parse_statement(b"<Document><BkToCstmrStmt>")
    with pytest.raises(BadDocument, match="not a bank statement"):
        parse_statement(b"%PDF-1.4 hello")
    with pytest.raises(BadDocument, match="empty"):
        parse_statement(b"  \n")


def test_format_is_detected_from_the_content() -> None:
    assert detect_format(camt(STATEMENT)) == "xml"
    assert detect_format(b"\xef\xbb\xbf\n  " + camt(STATEMENT)) == "xml"
    assert detect_format(mt940(STATEMENT)) == MT940
    assert detect_format(cbi(STATEMENT)) == CBI
    assert detect_format(bancoposta_csv(STATEMENT)) == BANCOPOSTA
    assert detect_format(b"code,amount\nRLM1,10.00\n") is None


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_every_format_reads_the_same_transactions(name: str) -> None:
    parsed = parse_statement(WRITERS[name](STATEMENT))
    assert parsed.rejected == []
    assert [(ln.direction, ln.amount, ln.booking_date.isoformat()) for ln in parsed.lines] == [
        (CREDIT, Decimal("10.89"), "2026-03-16"), (DEBIT, Decimal("1.50"), "2026-03-16"),
        (CREDIT, Decimal("10.89"), "2026-03-16"), (CREDIT, Decimal("21.78"), "2026-03-16")]
    rossi = parsed.lines[0]
    assert "0306912345678901" in {r.value for r in rossi.references}
    assert "RLM95055" in rossi.text() and rossi.payer and "rossi" in rossi.payer.lower()
    assert parsed.lines[1].payer is None  # a debit names whom we paid, not a payer


def test_mt940_keeps_bank_reference_and_whole_details() -> None:
    parsed = parse_statement(mt940(STATEMENT))
    rossi = parsed.lines[0]
    assert rossi.references[0].kind == "MT940 bank"
    assert rossi.remittance == ("BONIFICO DA Mario Rossi PER Rinnovo PEC ordine RLM95055 "
                                "BONIFICO SEPA DA MARIO ROSSI",)


def test_mt940_several_statements_and_swift_blocks() -> None:
    two = Statement([ROSSI], account="IT60X0542811101000000123456", number=2)
    data = b"{1:F01BCITITMMAXXX0000000000}{2:O9400000000000}{4:\r\n" + mt940(STATEMENT) \
        + b"-}" + mt940(two)
    parsed = parse_statement(data)
    assert parsed.accounts == ["IT62C0326803203052886541770", "IT60X0542811101000000123456"]
    assert [ln.account[-6:] for ln in parsed.lines] == ["541770"] * 4 + ["123456"]


def test_cbi_records_give_iban_trn_payer_causale_and_check_balances() -> None:
    parsed = parse_statement(cbi(STATEMENT))
    rossi = parsed.lines[0]
    assert rossi.account == "IT62C0326803203052886541770"
    assert rossi.references[0].kind == "TRN" and rossi.references[0].value == "0306912345678901"
    assert "E2E-ROSSI-1" in {r.value for r in rossi.references}  # from the ID1 record
    assert rossi.payer == "Mario Rossi" and rossi.bank_code == "CBI 48"
    assert rossi.remittance == ("Rinnovo PEC ordine RLM95055",)
    # a movement lost in transit: opening + movements no longer equal the closing balance
    records = cbi(STATEMENT).split(b"\r\n")
    cut = b"\r\n".join(r for r in records if not r.startswith(b" 62" + b"0000001" + b"002"))
    damaged = parse_statement(cut)
    assert any("is not the closing" in r.reason for r in damaged.rejected)
    assert any("follows no movement" in r.reason for r in damaged.rejected)


def test_cbi_without_trailer_or_with_bad_sign_says_so() -> None:
    records = cbi(Statement([ROSSI])).split(b"\r\n")
    bad = [r[:25] + b"X" + r[26:] if r.startswith(b" 62") else r for r in records[:-2]]
    parsed = parse_statement(b"\r\n".join(bad))
    reasons = " / ".join(r.reason for r in parsed.rejected)
    assert "neither C nor D" in reasons and "no EF trailer" in reasons
    assert parsed.lines == []


def test_bancoposta_export_as_written_by_the_factory() -> None:
    parsed = parse_statement(bancoposta_csv(STATEMENT))
    assert parsed.format == BANCOPOSTA and parsed.rejected == []
    rossi = parsed.lines[0]
    assert rossi.payer == "Mario Rossi" and rossi.remittance == ("Rinnovo PEC ordine RLM95055",)
    assert rossi.references[0].value == "0306912345678901"


# --- real-world files: layout references -------------------------------------------------

BANCOPOSTA_DIR = CORPUS / "ofxstatement-bancoposta"
CAMT_DIR = CORPUS / "oca-bank-statement-import-camt"
needs_corpus = pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is absent")


@needs_corpus
def test_real_bancoposta_exports() -> None:
    files = sorted(BANCOPOSTA_DIR.glob("*.csv"))
    assert len(files) == 7
    for path in files:
        parsed = parse_statement(path.read_bytes())
        assert parsed.format == BANCOPOSTA and parsed.rejected == [], path.name
        assert not any("SALDO" in ln.text() for ln in parsed.lines)  # balances are not lines
    bonifico = parse_statement((BANCOPOSTA_DIR / "bonifico.csv").read_bytes())
    credits = _credits(bonifico)
    assert [c.amount for c in credits] == [Decimal("2000.00"), Decimal("100.55"),
                                           Decimal("500.50")]
    assert credits[0].payer == "Lorenzo Giudici" and credits[0].remittance == ("Tanti Auguri!",)
    assert credits[0].references[0].value == "XXXXXXXXXXXXXXXXXXXXXXXXXXXXIT"  # TRN, not the BIC
    assert len(bonifico.lines) == 8  # debits are kept
    real_trn = [ln for ln in bonifico.lines if "0306964772471211485291052910IT" in
                {r.value for r in ln.references}]
    assert len(real_trn) == 1 and real_trn[0].direction == DEBIT
    postagiro = _credits(parse_statement((BANCOPOSTA_DIR / "postagiro.csv").read_bytes()))
    assert [(c.amount, c.payer) for c in postagiro] == [
        (Decimal("200.00"), "Lorenzo Giudici"), (Decimal("200.00"), None),
        (Decimal("180.00"), "Pluto"), (Decimal("180.00"), "Pluto")]


@needs_corpus
def test_real_camt_files() -> None:
    stmt = parse_statement((CAMT_DIR / "test-camt053").read_bytes())
    assert (stmt.format, stmt.version) == ("camt.053", "001.02")
    # a batch of two direct-debit returns is split; the reversal flag is kept
    assert [(ln.direction, ln.amount, ln.reversal) for ln in stmt.lines] == [
        (DEBIT, Decimal("754.25"), False), (DEBIT, Decimal("564.05"), True),
        (DEBIT, Decimal("100.00"), True), (CREDIT, Decimal("1405.31"), False)]
    credit = stmt.lines[3]
    assert credit.payer == "3rd party Media" and credit.payer_account == "NL69ABNA0522123643"
    assert {r.kind for r in credit.references} == {"EndToEndId", "InstrId"}
    first = stmt.lines[0]
    assert first.remittance == ("Insurance policy 857239PERIOD 01.01.2014 - 31.12.2014",)
    assert first.additional_info[0].startswith("MKB Insurance")
    txdtls = parse_statement((CAMT_DIR / "test-camt053-txdtls").read_bytes())
    assert [ln.amount for ln in txdtls.lines] == [Decimal("2187.00"), Decimal("1296.00")]
    assert txdtls.lines[0].remittance == ("302388292000011111111111111", "?REJECT?0")
    assert "PAQUET ID: 123456CHCAFEBABE" in txdtls.lines[0].text()
    notification = parse_statement((CAMT_DIR / "test-camt054").read_bytes())
    assert (notification.format, notification.version) == ("camt.054", "001.04")
    refs = {r.kind: r.value for r in notification.lines[0].references}
    assert refs["AcctSvcrRef"] == "15180015077602405" and refs["EndToEndId"] == "ENDTOENDID-01"
    assert refs["InstrId"] == "MIB InstrId305-312MM20211231v1"
    empty = parse_statement((CAMT_DIR / "test-camt053-no-ntry").read_bytes())
    assert empty.lines == [] and empty.accounts == ["NL77ABNA0574908765"]


def test_bancoposta_header_variants_are_read_by_column_name() -> None:
    data = ("Data Contabile;Data Valuta;Accrediti (euro);Addebiti (euro);Descrizione\r\n"
            "16/03/2026;16/03/2026;10,89;;BONIFICO A VOSTRO FAVORE TRN 0306912345678901 DA "
            "Mario Rossi PER RLM95055; rinnovo\r\n"
            "16/03/2026;16/03/2026;;1,50;COMMISSIONI\r\n").encode("cp1252")
    parsed = parse_statement(data)
    assert parsed.format == BANCOPOSTA and parsed.rejected == []
    credit, debit = parsed.lines
    assert (credit.direction, credit.amount, credit.payer) == (CREDIT, Decimal("10.89"),
                                                                "Mario Rossi")
    assert credit.remittance == ("RLM95055; rinnovo",)  # a ';' in the description kept
    assert (debit.direction, debit.amount) == (DEBIT, Decimal("1.50"))


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_damaged_files_give_reasons_never_crash(name: str) -> None:
    """GIVEN a statement with random bytes changed, cut or inserted (a fixed seed)
    THEN it is read (with what could not be, rejected) or refused with a reason, never an
    unexpected exception."""
    rng = random.Random(15)
    base = WRITERS[name](STATEMENT)
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[pos] = rng.randrange(256)
            elif op < 0.7:
                del data[pos:pos + rng.randint(1, 40)]
            else:
                data[pos:pos] = bytes(rng.choice(b"0123456789:;,.<>/CDRHEFX \r\n")
                                      for _ in range(rng.randint(1, 10)))
        try:
            parsed = parse_statement(bytes(data))
        except BadDocument as refused:
            assert refused.reason
            continue
        assert all(r.reason for r in parsed.rejected)
        assert all(ln.amount > 0 for ln in parsed.lines)
