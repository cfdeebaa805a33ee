"""Realistic proofs of payment with known ground truth: home-banking receipts in several bank
layouts, postal slips, cheque letters, and the emails customers send them in.

Used by the tests, the demo and the benchmarks. PDFs are real (reportlab), emails are real
(the ``email`` package). Nothing here is a binary blob: everything is generated.
"""
from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

OUR_IBAN = "IT62C0326803203052886541770"
OUR_NAME = "Lextel S.p.a."
STYLES = ("intesa", "unicredit", "poste", "assegno", "fineco", "bper")

FIRST = ["Mario", "Giulia", "Luca", "Francesca", "Alessandro", "Chiara", "Marco", "Elena",
         "Giovanni", "Sara", "Paolo", "Valentina", "Andrea", "Federica", "Stefano"]
LAST = ["Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco",
        "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano"]
PAYER_IBANS = ["IT60X0542811101000000123456", "IT40S0542811101000000123456",
               "IT02A0301503200000003517230", "IT21Q0123412345000000012345"]


def iban_groups(iban: str) -> str:
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def it_amount(value: Decimal) -> str:
    text = f"{value:,.2f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


@dataclass(frozen=True)
class ReceiptSpec:
    """What a receipt says (the ground truth) and how it says it."""

    codes: tuple[str, ...] = ("RLM95055",)
    amount: Decimal = Decimal("10.89")
    fee: Decimal = Decimal("1.00")
    beneficiary_iban: str = OUR_IBAN
    payer_iban: str = PAYER_IBANS[0]
    payer: str = "Mario Rossi"
    reference: str = "0306912345678901"
    paid_on: date = date(2026, 3, 14)
    style: str = "intesa"
    code_style: str = "plain"  # plain | lower | dash | dotted | spaced
    balance: Decimal = Decimal("2345.67")

    @property
    def method(self) -> str:
        return {"poste": "bollettino", "assegno": "assegno"}.get(self.style, "bonifico")

    @property
    def total(self) -> Decimal:
        return self.amount + self.fee

    def code_text(self) -> str:
        return " ".join(_write_code(c, self.code_style) for c in self.codes)


def _write_code(code: str, style: str) -> str:
    digits = code[3:]
    return {"plain": code, "lower": f"rlm {digits}", "dash": f"RLM-{digits}",
            "dotted": f"R.L.M. {digits}", "spaced": f"RLM {digits}"}[style]


def random_spec(rng: random.Random, code: str, amount: Decimal, **overrides: object) -> ReceiptSpec:
    spec = ReceiptSpec(
        codes=(code,), amount=amount,
        fee=Decimal(rng.choice(["0.00", "0.50", "1.00", "1.50", "2.50"])),
        payer_iban=rng.choice(PAYER_IBANS),
        payer=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        reference="".join(rng.choice("0123456789") for _ in range(16)),
        paid_on=date(2026, rng.randint(1, 10), rng.randint(1, 28)),
        style=rng.choice(STYLES),
        code_style=rng.choice(["plain", "lower", "dash", "dotted", "spaced"]),
        balance=Decimal(rng.randint(100, 99999)) + Decimal("0.37"),
    )
    return replace(spec, **overrides)  # type: ignore[arg-type]


# --- the text of each layout -------------------------------------------------------------

def receipt_lines(spec: ReceiptSpec) -> list[str]:
    return {"intesa": _intesa, "unicredit": _unicredit, "poste": _poste, "assegno": _assegno,
            "fineco": _fineco, "bper": _bper}[spec.style](spec)


def _d(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _intesa(s: ReceiptSpec) -> list[str]:
    return [
        "Banca Intesa Sanpaolo - Internet Banking",
        "RICEVUTA DI BONIFICO SEPA",
        f"Data esecuzione: {_d(s.paid_on)}    Data valuta: {_d(s.paid_on)}",
        f"Ordinante: {s.payer}",
        f"IBAN ordinante: {iban_groups(s.payer_iban)}",
        f"Beneficiario: {OUR_NAME}",
        f"IBAN beneficiario: {iban_groups(s.beneficiary_iban)}",
        "Banca beneficiario: Banca Sella Roma",
        f"Causale: Rinnovo PEC ordine {s.code_text()}",
        f"Importo: EUR {it_amount(s.amount)}",
        f"Commissioni: EUR {it_amount(s.fee)}",
        f"Totale addebitato: EUR {it_amount(s.total)}",
        f"CRO: {s.reference[:11]}",
        f"TRN: {s.reference}",
        f"Saldo disponibile dopo l'operazione: EUR {it_amount(s.balance)}",
        "Stato: ESEGUITO",
    ]


def _unicredit(s: ReceiptSpec) -> list[str]:
    # label-over-value layout, as home banking exports often print in two rows
    return [
        "UniCredit Banca - Dettaglio operazione",
        "Bonifico SEPA - Esito: eseguito",
        "Conto di addebito",
        f"{iban_groups(s.payer_iban)}",
        "Intestatario del conto",
        s.payer,
        "Beneficiario",
        OUR_NAME,
        "IBAN del beneficiario",
        iban_groups(s.beneficiary_iban),
        "Importo del bonifico",
        f"{it_amount(s.amount)} EUR",
        "Commissioni",
        f"{it_amount(s.fee)} EUR",
        "Importo totale addebitato",
        f"{it_amount(s.total)} EUR",
        "Data di esecuzione",
        s.paid_on.strftime("%d.%m.%Y"),
        "Descrizione",
        f"{s.code_text()} rinnovo casella PEC",
        "Riferimento operazione (TRN)",
        f"TRN {s.reference}",
    ]


def _poste(s: ReceiptSpec) -> list[str]:
    return [
        "Poste Italiane - BancoPosta",
        "RICEVUTA DI VERSAMENTO - BOLLETTINO POSTALE",
        "sul C/C n. 000012345678 intestato a: LEXTEL S.P.A.",
        f"Importo in euro: {it_amount(s.amount)}",
        f"Tassa: {it_amount(s.fee)}",
        f"Eseguito da: {s.payer}",
        f"Causale: {s.code_text()}",
        f"Data accettazione: {_d(s.paid_on)}",
        f"Numero operazione: VCY{s.reference[:8]}",
    ]


def _assegno(s: ReceiptSpec) -> list[str]:
    return [
        s.payer,
        "Via Roma 1, 00100 Roma",
        f"Roma, {_d(s.paid_on)}",
        f"Spett.le {OUR_NAME} - Amministrazione",
        f"Oggetto: pagamento ordine {s.code_text()} con assegno bancario",
        f"Con la presente trasmetto copia dell'assegno n. {s.reference[:10]}",
        f"di importo pari a euro {it_amount(s.amount)} intestato a {OUR_NAME},",
        "a saldo del rinnovo della casella di posta elettronica certificata.",
        "Distinti saluti",
        s.payer,
    ]


def _fineco(s: ReceiptSpec) -> list[str]:
    return [
        "FinecoBank - Conferma disposizione",
        f"Bonifico ordinario  disposto il {s.paid_on.isoformat()}",
        f"Nome ordinante: {s.payer}",
        f"Conto di addebito: {iban_groups(s.payer_iban)}",
        f"A favore di: {OUR_NAME}",
        f"Coordinate IBAN: {iban_groups(s.beneficiary_iban)}",
        f"Importo disposto: {it_amount(s.amount)} €   Costo operazione: {it_amount(s.fee)} €",
        f"Motivazione: {s.code_text()}",
        f"Identificativo operazione: {s.reference}",
        f"Saldo contabile: {it_amount(s.balance)} €",
    ]


def _bper(s: ReceiptSpec) -> list[str]:
    return [
        "BPER Banca - Contabile bonifico",
        f"Data operazione {s.paid_on.strftime('%d-%m-%Y')}",
        "Dati ordinante",
        f"Ordinante {s.payer}",
        f"IBAN {iban_groups(s.payer_iban)}",
        "Dati beneficiario",
        f"Beneficiario {OUR_NAME}",
        f"IBAN {iban_groups(s.beneficiary_iban)}",
        f"Causale {s.code_text()}",
        f"Importo EUR {it_amount(s.amount)}",
        f"Spese EUR {it_amount(s.fee)}",
        f"Totale operazione EUR {it_amount(s.total)}",
        f"C.R.O. {s.reference[:11]}",
    ]


# --- documents ---------------------------------------------------------------------------

def receipt_pdf(spec: ReceiptSpec, lines: list[str] | None = None) -> bytes:
    """A one-page A4 PDF with a real text layer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setTitle("Ricevuta")
    width, height = A4
    y = height - 72
    for index, line in enumerate(lines or receipt_lines(spec)):
        pdf.setFont("Helvetica-Bold" if index == 0 else "Helvetica", 13 if index == 0 else 11)
        pdf.drawString(60, y, line)
        y -= 22
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def image_only_pdf() -> bytes:
    """A PDF with a picture and no text layer: a scan that needs OCR."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setFillGray(0.2)
    for row in range(20):
        pdf.rect(60, 780 - row * 30, 300 + (row * 37) % 150, 10, fill=1, stroke=0)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@dataclass
class MailSpec:
    sender: str = "mario.rossi@example.com"
    sender_name: str = "Mario Rossi"
    to: str = "amministrazione@example.it"
    subject: str = "Invio ricevuta di pagamento"
    body: str = "Buongiorno,\nin allegato la ricevuta del bonifico.\nCordiali saluti"
    html: bool = False
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)  # name, type, data
    sent: datetime = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)
    extra_headers: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None


def build_email(mail: MailSpec) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{mail.sender_name} <{mail.sender}>"
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(mail.sent)
    # deterministic, so that the same spec builds the same bytes (tests compare hashes)
    seed = f"{mail.sender}|{mail.subject}|{mail.body}|{[a[0] for a in mail.attachments]}"
    msg["Message-ID"] = mail.message_id or \
        f"<{hashlib.sha256(seed.encode()).hexdigest()[:20]}@example.com>"
    for name, value in mail.extra_headers.items():
        msg[name] = value
    msg.set_content(mail.body)
    if mail.html:
        paragraphs = "".join(f"<p>{line}</p>" for line in mail.body.split("\n"))
        msg.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
    for name, ctype, data in mail.attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    for index, part in enumerate(msg.walk()):
        if part.is_multipart():
            part.set_boundary(f"==boundary-{index}-{hashlib.sha256(seed.encode()).hexdigest()[:12]}")
    return bytes(msg)


def receipt_email(spec: ReceiptSpec, *, sender: str = "mario.rossi@example.com",
                  filename: str = "ricevuta_bonifico.pdf", html: bool = False) -> bytes:
    """A customer's email with the receipt PDF attached (the code, if any, also in the
    subject and body, as customers write)."""
    about = f" per l'ordine {spec.codes[0]}" if spec.codes else ""
    return build_email(MailSpec(
        sender=sender, sender_name=spec.payer,
        subject="Ricevuta pagamento" + (f" ordine {spec.codes[0]}" if spec.codes else ""),
        body=f"Buongiorno,\nin allegato la ricevuta del pagamento{about}.\nCordiali saluti\n"
             f"{spec.payer}",
        html=html, attachments=[(filename, "application/pdf", receipt_pdf(spec))]))


def body_only_email(spec: ReceiptSpec, sender: str = "mario.rossi@example.com",
                    html: bool = False) -> bytes:
    """A customer who writes the payment details in the body instead of attaching proof."""
    body = (f"Buongiorno,\nho effettuato in data {_d(spec.paid_on)} un bonifico di euro "
            f"{it_amount(spec.amount)} a favore di {OUR_NAME} per l'ordine {spec.code_text()}.\n"
            f"TRN: {spec.reference}\nCordiali saluti\n{spec.payer}")
    return build_email(MailSpec(sender=sender, sender_name=spec.payer,
                                subject="Pagamento rinnovo PEC", body=body, html=html))


# --- order books -------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderSpec:
    code: str
    amount: Decimal
    customer_name: str
    customer_email: str
    userid: str = ""
    pec_address: str = ""
    expiry_date: date = date(2026, 4, 22)
    years: int = 1

    def csv_row(self) -> str:
        userid = self.userid or f"U{self.code[3:]}"
        pec = self.pec_address or (self.customer_name.lower().replace(" ", ".")
                                   + "@pec.avvocati.example.it")
        return (f"{self.code},{userid},{pec},{self.customer_name},{self.customer_email},"
                f"{self.amount:.2f},{self.expiry_date.isoformat()},{self.years}")


CSV_HEADER = "code,userid,pec_address,customer_name,customer_email,amount,expiry_date,years"


def orders_csv(orders: list[OrderSpec]) -> str:
    return "\n".join([CSV_HEADER] + [o.csv_row() for o in orders]) + "\n"


def new_msgid() -> str:
    return make_msgid(domain="example.com")
