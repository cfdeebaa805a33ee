"""The payment behind each held-out document, and what reading the document must give.

A ``Payment`` is drawn first (who paid which orders, how much, from which bank, on which day);
every device then renders the same payment its own way, and ``Truth`` is derived from what the
document actually prints (a masked IBAN is not an IBAN, a code cut by an ellipsis is no code).
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from schwifty import IBAN

# The provider's account (DOMAIN.md): what a customer's transfer must name as beneficiary.
PROVIDER = "Lextel S.p.a."
PROVIDER_IBAN = "IT62C0326803203052886541770"
PROVIDER_BANK = "Banca Sella"
# The provider's postal current account (fictional) for postal slips.
PROVIDER_POSTAL_ACCOUNT = "001029384756"

GIVEN = ["Alessia", "Bruno", "Carla", "Davide", "Emanuela", "Fabrizio", "Gabriella", "Ivo",
         "Lorenza", "Massimo", "Nadia", "Ottavio", "Patrizia", "Raffaele", "Simona", "Tiziano",
         "Valeria", "Umberto", "Rosaria", "Gianfranco", "Nicolò", "Agnese", "Cesare", "Ilaria"]
FAMILY = ["Fontana", "Caruso", "Mancini", "Lombardi", "Barbieri", "Moretti", "Galli",
          "Conti", "De Luca", "Costa", "Giordano", "Rinaldi", "Ferrara", "Santoro", "Marchetti",
          "D'Angelo", "Pellegrini", "Palumbo", "Sanna", "Cattaneo", "Farina", "Bellini",
          "Vitale", "Serra", "Longo", "Gentile"]
TITLES = ["Avv.", "Avv.", "Dott.", "Dott.ssa", "Geom.", "Rag.", "", "", "", "Studio Legale"]
CITIES = ["Torino", "Bari", "Padova", "Cagliari", "Perugia", "Trento", "Lecce", "Parma",
          "Salerno", "Ancona", "Brescia", "Sassari", "Pescara", "Verona", "Catania"]
STREETS = ["Via Garibaldi", "Corso Vittorio Emanuele II", "Via XX Settembre", "Piazza Cavour",
           "Viale dei Mille", "Via Nazionale", "Via San Francesco", "Largo Augusto"]
# (bank name, ABI) of the payer's bank; the held-out set's banks are not the factories'.
BANKS = [("Banco BPM", "05034"), ("Crédit Agricole Italia", "06230"),
         ("Banca Mediolanum", "03062"), ("Monte dei Paschi di Siena", "01030"),
         ("BNL BNP Paribas", "01005"), ("Credem", "03032"), ("Banca Popolare di Sondrio", "05696"),
         ("ING", "03475"), ("Banca di Asti", "06085"), ("BCC Roma", "08327"),
         ("Banca Sella", "03268"), ("Banca Widiba", "03442")]
PEC_DOMAINS = ["pec.ordineavvocatitorino.it", "pec.avvocatibari.it", "legalmail.it",
               "pec.commercialisti.it", "geopec.it", "pec.it", "postacertificata.eu"]


@dataclass(frozen=True)
class Truth:
    """What ``run.py extract`` should report for one document (CONTRACT.md's fields)."""

    codes: tuple[str, ...]
    amount: str  # decimal string with a point, as the JSON has it
    iban: str | None  # beneficiary IBAN as printed in full, else None
    reference: str | None  # the strongest printed reference (TRN before CRO)
    references: tuple[str, ...] = ()  # every printed reference a reader may rightly report
    payment_date: str | None = None  # ISO
    payer: str | None = None
    mailboxes: tuple[str, ...] = ()  # PEC addresses / userids written, lower-cased
    method: str = "bonifico"

    def as_json(self) -> dict:
        data = asdict(self)
        for key in ("codes", "references", "mailboxes"):
            data[key] = list(data[key])
        return data


@dataclass(frozen=True)
class Payment:
    """One payment as it happened; documents print (parts of) it."""

    codes: tuple[str, ...]
    amount: Decimal  # what was paid in all (one transfer for every code)
    fee: Decimal
    given: str
    family: str
    title: str
    payer_iban: str
    bank: str
    paid_on: date
    trn: str
    cro: str
    op_id: str
    userid: str
    pec: str
    city: str
    street: str
    vat: str
    phone: str
    mobile: str
    balance: Decimal
    mailbox_only: bool = False  # the causale names the mailbox, not the code
    cheque_no: str = ""
    postal_ref: str = ""
    amounts: tuple[Decimal, ...] = field(default=())  # one per code

    @property
    def payer(self) -> str:
        return f"{self.given} {self.family}"

    @property
    def total(self) -> Decimal:
        return self.amount + self.fee


def it_money(value: Decimal, thousands: bool = True) -> str:
    """10.89 -> '10,89'; 1234.5 -> '1.234,50'."""
    whole, cents = f"{value:.2f}".split(".")
    if thousands and len(whole) > 3:
        whole = f"{int(whole):,}".replace(",", ".")
    return f"{whole},{cents}"


def grouped(iban: str) -> str:
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def masked(iban: str) -> str:
    """As banking apps show it: 'IT62 C032 **** **** 1770'."""
    return f"{iban[:4]} {iban[4:8]} **** **** {iban[-4:]}"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _code(rng: random.Random) -> str:
    return f"RLM{rng.randint(10000, 99999)}"


def _price(rng: random.Random) -> Decimal:
    # renewal prices VAT included: convention prices, multi-year, odd amounts
    base = rng.choice(["10.89", "12.20", "18.30", "21.78", "24.40", "36.60", "48.80", "6.10",
                       None, None, None])
    if base is None:
        return Decimal(rng.randint(550, 32000)) / 100
    return Decimal(base) * rng.choice([1, 1, 1, 2, 3])


def draw_payment(rng: random.Random, *, orders: int = 1, mailbox_only: bool = False) -> Payment:
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    bank, abi = rng.choice(BANKS)
    payer_iban = str(IBAN.generate("IT", bank_code=abi + _digits(rng, 5),
                                   account_code=_digits(rng, 12)).compact)
    codes = tuple(dict.fromkeys(_code(rng) for _ in range(orders)))
    amounts = tuple(_price(rng) for _ in codes)
    login = f"{given[0]}{family}".lower().replace("'", "").replace(" ", "").replace("ò", "o")
    domain = rng.choice(PEC_DOMAINS)
    paid_on = date(2026, 1, 5) + timedelta(days=rng.randint(0, 320))
    return Payment(
        codes=codes, amount=sum(amounts, Decimal(0)),
        fee=Decimal(rng.choice(["0.00", "0.00", "0.50", "1.00", "1.50", "2.00"])),
        given=given, family=family, title=rng.choice(TITLES), payer_iban=payer_iban, bank=bank,
        paid_on=paid_on, trn=f"{abi}{_digits(rng, 20)}IT", cro=_digits(rng, 11),
        op_id="".join(rng.choice("0123456789ABCDEF") for _ in range(16)),
        userid=f"{login}{rng.randint(1, 99)}", pec=f"{login}@{domain}", city=rng.choice(CITIES),
        street=f"{rng.choice(STREETS)} {rng.randint(1, 180)}", vat=_digits(rng, 11),
        phone=f"0{rng.randint(10, 99)} {_digits(rng, 7)}",
        mobile=f"3{_digits(rng, 2)} {_digits(rng, 7)}",
        balance=Decimal(rng.randint(10000, 900000)) / 100, mailbox_only=mailbox_only,
        cheque_no=_digits(rng, 10), postal_ref=f"VCYL{_digits(rng, 4)}", amounts=amounts)


def causale(p: Payment, rng: random.Random) -> str:
    """What the customer typed in the transfer's causale."""
    if p.mailbox_only:
        return rng.choice([f"Rinnovo casella {p.pec}", f"RINNOVO PEC {p.pec.upper()}",
                           f"rinnovo annuale casella pec {p.pec} userid {p.userid}"])
    written = [rng.choice([c, c, f"{c[:3]} {c[3:]}", f"{c[:3]}-{c[3:]}", c.lower()])
               for c in p.codes]
    joined = " e ".join(written) if len(written) < 3 else ", ".join(written)
    return rng.choice([
        f"Rinnovo PEC ordine {joined}",
        f"PAGAMENTO ORDINE N. {joined.upper()} RINNOVO CASELLA",
        f"{joined} rinnovo casella {p.pec}",
        f"Saldo ordine {joined} - {p.title} {p.family}".replace("  ", " "),
        f"ORD. {joined.upper()} CASELLA POSTA CERTIFICATA",
    ])


def truth_for(p: Payment, *, iban: str | None = PROVIDER_IBAN, reference: str | None = None,
              references: tuple[str, ...] = (), dated: bool = True, payer: str | None = "",
              mailboxes: tuple[str, ...] | None = None, method: str = "bonifico",
              codes: tuple[str, ...] | None = None) -> Truth:
    """The truth of a document that prints ``p``; keyword arguments say what it leaves out."""
    refs = tuple(dict.fromkeys(references or ((reference,) if reference else ())))
    return Truth(
        codes=() if p.mailbox_only else (p.codes if codes is None else codes),
        amount=f"{p.amount:.2f}", iban=iban, reference=reference, references=refs,
        payment_date=p.paid_on.isoformat() if dated else None,
        payer=p.payer if payer == "" else payer,
        mailboxes=tuple(m.lower() for m in (mailboxes if mailboxes is not None else ())),
        method=method)


def with_mailboxes(truth: Truth, text: str, p: Payment) -> Truth:
    """Adds the mailboxes the printed text names (a causale or a body may name them)."""
    found = tuple(m for m in (p.pec, p.userid) if m.lower() in text.lower())
    return replace(truth, mailboxes=tuple(dict.fromkeys(truth.mailboxes + found)))
