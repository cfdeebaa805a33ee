"""Bank statements written by our own code, in every format ``statements import`` reads,
from the same stories as the receipts (tests/factories/scenario.py): what the bank says
arrived for the proofs customers send.

Each writer follows the format's published layout (camt XML per version, MT940 fields, the
CBI records of docs/statements.md, the BancoPosta export's columns); the real-world files
in ../shared/corpus are the layout references the tests compare against.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from tests.factories.receipts import OUR_IBAN, it_amount

CAMT_VERSIONS = tuple(f"001.{n:02d}" for n in range(2, 9))


@dataclass(frozen=True)
class Transfer:
    """One movement on our account, as the bank reports it."""

    amount: Decimal
    causale: str
    reference: str                     # the bank's reference (TRN / AcctSvcrRef)
    payer: str = "Mario Rossi"
    payer_iban: str = "IT60X0542811101000000123456"
    booked: date = date(2026, 3, 16)
    credit: bool = True
    end_to_end: str = "NOTPROVIDED"
    extra_info: str = ""               # AddtlTxInf (camt), a second 63 record (CBI)


@dataclass(frozen=True)
class Batch:
    """One booked entry for several transfers (camt: one Ntry, several TxDtls)."""

    transfers: tuple[Transfer, ...]
    reference: str = "BATCH0001"

    @property
    def amount(self) -> Decimal:
        return sum((t.amount for t in self.transfers), Decimal("0.00"))


@dataclass
class Statement:
    entries: list[Transfer | Batch] = field(default_factory=list)
    account: str = OUR_IBAN
    day: date = date(2026, 3, 16)
    opening: Decimal = Decimal("1000.00")
    number: int = 1

    def transfers(self) -> list[Transfer]:
        out: list[Transfer] = []
        for e in self.entries:
            out.extend(e.transfers if isinstance(e, Batch) else (e,))
        return out

    @property
    def closing(self) -> Decimal:
        return self.opening + sum((t.amount if t.credit else -t.amount
                                   for t in self.transfers()), Decimal("0.00"))


# --- ISO 20022 camt.053 / camt.054 ------------------------------------------------------

def _v(version: str) -> int:
    return int(version.split(".")[1])


def _party(role: str, name: str, iban: str, version: str) -> str:
    nm = f"<Nm>{escape(name)}</Nm>"
    party = f"<Pty>{nm}</Pty>" if _v(version) >= 8 else nm
    return f"<{role}>{party}</{role}><{role}Acct><Id><IBAN>{iban}</IBAN></Id></{role}Acct>"


def _tx(t: Transfer, version: str, with_amount: bool) -> str:
    ind = "CRDT" if t.credit else "DBIT"
    amount = ""
    if with_amount:
        amount = (f'<AmtDtls><TxAmt><Amt Ccy="EUR">{t.amount:.2f}</Amt></TxAmt></AmtDtls>'
                  if _v(version) == 2 else
                  f'<Amt Ccy="EUR">{t.amount:.2f}</Amt><CdtDbtInd>{ind}</CdtDbtInd>')
    role = "Dbtr" if t.credit else "Cdtr"
    agent = "BICFI" if _v(version) >= 4 else "BIC"
    info = f"<AddtlTxInf>{escape(t.extra_info)}</AddtlTxInf>" if t.extra_info else ""
    # Ustrd is at most 140 characters: a longer causale comes in several chunks
    chunks = [t.causale[i:i + 140] for i in range(0, len(t.causale), 140)] or [""]
    ustrd = "".join(f"<Ustrd>{escape(c)}</Ustrd>" for c in chunks)
    return (f"<TxDtls><Refs><AcctSvcrRef>{t.reference}</AcctSvcrRef>"
            f"<EndToEndId>{t.end_to_end}</EndToEndId></Refs>{amount}"
            f"<RltdPties>{_party(role, t.payer, t.payer_iban, version)}</RltdPties>"
            f"<RltdAgts><{role}Agt><FinInstnId><{agent}>BCITITMMXXX</{agent}></FinInstnId>"
            f"</{role}Agt></RltdAgts><RmtInf>{ustrd}</RmtInf>{info}</TxDtls>")


def _entry(e: Transfer | Batch, version: str) -> str:
    if isinstance(e, Batch):
        first, txs = e.transfers[0], "".join(_tx(t, version, True) for t in e.transfers)
        batch = f"<Btch><NbOfTxs>{len(e.transfers)}</NbOfTxs></Btch>"
        amount, credit, ref = e.amount, first.credit, e.reference
    else:
        first, txs, batch = e, _tx(e, version, _v(version) >= 3), ""
        amount, credit, ref = e.amount, e.credit, f"E{e.reference}"
    status = "<Sts><Cd>BOOK</Cd></Sts>" if _v(version) >= 8 else "<Sts>BOOK</Sts>"
    return (f'<Ntry><Amt Ccy="EUR">{amount:.2f}</Amt>'
            f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>{status}"
            f"<BookgDt><Dt>{first.booked.isoformat()}</Dt></BookgDt>"
            f"<ValDt><Dt>{first.booked.isoformat()}</Dt></ValDt>"
            f"<AcctSvcrRef>{ref}</AcctSvcrRef>"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{'RCDT' if credit else 'ICDT'}</Cd>"
            f"<SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            f"<NtryDtls>{batch}{txs}</NtryDtls></Ntry>")


def camt(statement: Statement, kind: str = "053", version: str = "001.02") -> bytes:
    """camt.053 (statement, with balances), camt.052 (intraday account report, with
    balances) or camt.054 (notification) of that version."""
    root, report = {"052": ("BkToCstmrAcctRpt", "Rpt"), "053": ("BkToCstmrStmt", "Stmt"),
                    "054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}[kind]
    day = statement.day.isoformat()
    balances = "" if kind == "054" else "".join(
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{value:.2f}</Amt>'
        f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
        for code, value in (("OPBD", statement.opening), ("CLBD", statement.closing)))
    entries = "".join(_entry(e, version) for e in statement.entries)
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
           f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{kind}.{version}">'
           f"<{root}><GrpHdr><MsgId>MSG{statement.number:06d}</MsgId>"
           f"<CreDtTm>{day}T18:00:00</CreDtTm></GrpHdr>"
           f"<{report}><Id>STMT{statement.number:06d}</Id><CreDtTm>{day}T18:00:00</CreDtTm>"
           f"<Acct><Id><IBAN>{statement.account}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
           f"{balances}{entries}</{report}></{root}></Document>\n")
    return xml.encode("utf-8")


# --- SWIFT MT940 ----------------------------------------------------------------------------

def _swift_amount(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def mt940(statement: Statement) -> bytes:
    d = statement.day.strftime("%y%m%d")
    lines = [f":20:STMT{statement.number:06d}", f":25:{statement.account}",
             f":28C:{statement.number:05d}/001", f":60F:C{d}EUR{_swift_amount(statement.opening)}"]
    for t in statement.transfers():
        booked = t.booked.strftime("%y%m%d")
        lines.append(f":61:{booked}{t.booked.strftime('%m%d')}{'C' if t.credit else 'D'}"
                     f"{_swift_amount(t.amount)}NTRFNONREF//{t.reference}")
        details = f"BONIFICO {'DA' if t.credit else 'A'} {t.payer} PER {t.causale}"
        if t.extra_info:
            details += f" {t.extra_info}"
        # :86: holds at most 6 lines of 65 characters
        lines.append(":86:" + "\n".join(details[i:i + 65] for i in range(0, len(details), 65)))
    lines += [f":62F:C{d}EUR{_swift_amount(statement.closing)}", "-"]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


# --- CBI fixed-width (docs/statements.md, "CBI layout") ------------------------------------

def _record(fields: list[tuple[int, str]]) -> str:
    """A 120-character record from (1-based start column, text) pairs."""
    rec = [" "] * 120
    for start, text in fields:
        rec[start - 1:start - 1 + len(text)] = list(text)
    return "".join(rec[:120])


def _cbi_amount(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",").rjust(15, "0")


def cbi(statement: Statement) -> bytes:
    iban = statement.account
    country, check, cin, abi, cab, number = iban[:2], iban[2:4], iban[4], iban[5:10], \
        iban[10:15], iban[15:27]
    ddmmyy = statement.day.strftime("%d%m%y")
    prog = f"{statement.number:07d}"
    recs = [_record([(2, "RH"), (4, "03268"), (9, "AB123"), (14, ddmmyy),
                     (20, f"RH{statement.number:018d}")]),
            _record([(2, "61"), (4, prog), (24, abi), (34, "SALDO INIZIALE"), (50, "CC"),
                     (52, cin), (53, abi), (58, cab), (63, number), (75, "EUR"),
                     (78, ddmmyy), (84, "C"), (85, _cbi_amount(statement.opening)),
                     (100, country), (102, check)])]
    for index, t in enumerate(statement.transfers(), 1):
        booked = t.booked.strftime("%d%m%y")
        recs.append(_record([(2, "62"), (4, prog), (11, f"{index:03d}"), (14, booked),
                             (20, booked), (26, "C" if t.credit else "D"),
                             (27, _cbi_amount(t.amount)), (42, "48" if t.credit else "26"),
                             (44, "B1"), (62, t.reference[:16]),
                             (87, ("BONIFICO A VOSTRO FAVORE" if t.credit
                                   else "VOSTRA DISPOSIZIONE")[:34])]))
        recs.append(_record([(2, "63"), (4, prog), (11, f"{index:03d}"), (14, "YYY"),
                             (17, t.booked.strftime("%d%m%Y")), (41, t.payer[:40]),
                             (81, "ROMA")]))
        text = t.causale
        for n, start in enumerate(range(0, max(len(text), 1), 104)):
            recs.append(_record([(2, "63"), (4, prog), (11, f"{index:03d}"),
                                 (14, f"ZZ{n + 1}"), (17, text[start:start + 104])]))
        if t.end_to_end != "NOTPROVIDED" or len(t.reference) > 16:
            recs.append(_record([(2, "63"), (4, prog), (11, f"{index:03d}"), (14, "ID1"),
                                 (17, f"{t.reference} {t.end_to_end}")]))
        if t.extra_info:
            recs.append(_record([(2, "63"), (4, prog), (11, f"{index:03d}"),
                                 (14, t.extra_info[:107])]))
    recs.append(_record([(2, "64"), (4, prog), (11, "EUR"), (14, ddmmyy), (20, "C"),
                         (21, _cbi_amount(statement.closing)), (36, "C"),
                         (37, _cbi_amount(statement.closing))]))
    recs.append(_record([(2, "EF"), (4, "03268"), (9, "AB123"), (14, ddmmyy),
                         (20, f"RH{statement.number:018d}"), (46, "0000001"),
                         (83, f"{len(recs) + 1:07d}")]))
    return ("\r\n".join(recs) + "\r\n").encode("latin-1")


# --- BancoPosta CSV -----------------------------------------------------------------------

def bancoposta_csv(statement: Statement) -> bytes:
    """As the real exports: balance rows with their stray '|', no newline at the end."""
    first = statement.transfers()[0].booked if statement.transfers() else statement.day
    rows = ["Data;Valuta;Addebiti;Accrediti;Descrizione operazioni",
            f"{first.strftime('%d/%m/%y')};;;{it_amount(statement.opening)}|;SALDO INIZIALE"]
    for t in statement.transfers():
        d = t.booked.strftime("%d/%m/%y")
        if t.credit:
            rows.append(f"{d};{d};;{it_amount(t.amount)};BONIFICO A VOSTRO FAVORE TRN "
                        f"{t.reference} DA {t.payer} PER {t.causale}")
        else:
            rows.append(f"{d};{d};{it_amount(t.amount)};;VOSTRA DISPOS. DI BONIFICO TRN "
                        f"{t.reference} BENEF {t.payer} PER {t.causale}")
    rows.append(f"{statement.day.strftime('%d/%m/%y')};;;{it_amount(statement.closing)};"
                "|SALDO FINALE")
    return "\n".join(rows).encode("utf-8")


WRITERS = {
    "camt.053": lambda s: camt(s, "053", "001.02"),
    "camt.054": lambda s: camt(s, "054", "001.04"),
    "mt940": mt940,
    "cbi": cbi,
    "bancoposta-csv": bancoposta_csv,
}
