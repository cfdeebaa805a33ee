"""Documents drawn with reportlab in the held-out set's own layouts.

Each ``draw_*`` function prints one payment on the current page of a ``Sheet`` and returns the
``Truth`` of what it printed. Layouts: a bordered table, two columns (payer | beneficiary), a
bank's letter in prose, a statement's list of movements, a monospaced fixed-width slip with its
causale cut every 32 characters (even inside a code), an app-style confirmation with a large
amount; all with footers full of other numbers (share capital, VAT numbers, phone numbers).
Also: PosteOnline's receipt of a postal slip, the paper postal slip itself, a cheque with its
covering letter, and a fax cover page.
"""
from __future__ import annotations

import io
import random
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace

from benchmarks.heldout.fonts import rl_font
from benchmarks.heldout.truth import (
    PROVIDER,
    PROVIDER_BANK,
    PROVIDER_IBAN,
    PROVIDER_POSTAL_ACCOUNT,
    Payment,
    Truth,
    causale,
    grouped,
    it_money,
    truth_for,
    with_mailboxes,
)
from benchmarks.heldout.words import slash_words

MM = 72 / 25.4
SLIP = (595.0, 330.0)  # the receipt half of a postal slip, in points


class Sheet:
    """A reportlab canvas with the held-out fonts; deterministic output (invariant)."""

    def __init__(self, size: tuple[float, float] | None = None) -> None:
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfgen import canvas
        self.buffer = io.BytesIO()
        self.width, self.height = size or A4
        self.canvas = canvas.Canvas(self.buffer, pagesize=(self.width, self.height), invariant=1)
        self.canvas.setTitle("documento")
        self.pages = 0

    def text(self, x: float, y: float, s: str, *, family: str = "sans", size: float = 10,
             bold: bool = False, grey: float = 0.0, align: str = "left") -> None:
        c = self.canvas
        c.setFillGray(grey)
        c.setFont(rl_font(family, bold), size)
        {"left": c.drawString, "right": c.drawRightString,
         "centre": c.drawCentredString}[align](x, y, s)
        c.setFillGray(0)

    def line(self, x1: float, y1: float, x2: float, y2: float, grey: float = 0.0,
             width: float = 0.6) -> None:
        self.canvas.setStrokeGray(grey)
        self.canvas.setLineWidth(width)
        self.canvas.line(x1, y1, x2, y2)

    def box(self, x: float, y: float, w: float, h: float, *, fill: float | None = None,
            grey: float = 0.0, width: float = 0.6) -> None:
        c = self.canvas
        c.setStrokeGray(grey)
        c.setLineWidth(width)
        if fill is not None:
            c.setFillGray(fill)
        c.rect(x, y, w, h, stroke=1, fill=0 if fill is None else 1)
        c.setFillGray(0)

    @contextmanager
    def upside_down(self):  # noqa: ANN201
        """Draws the page turned by 180 degrees (a sheet fed into the fax the wrong way)."""
        self.canvas.saveState()
        self.canvas.translate(self.width, self.height)
        self.canvas.rotate(180)
        try:
            yield
        finally:
            self.canvas.restoreState()

    def end_page(self) -> None:
        self.canvas.showPage()
        self.pages += 1

    def pdf(self) -> bytes:
        self.canvas.save()
        return self.buffer.getvalue()


def d(value) -> str:  # noqa: ANN001 - date
    return value.strftime("%d/%m/%Y")


def wrap(text: str, width: int) -> list[str]:
    """Word wrap at ``width`` characters."""
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return lines + ([current] if current else [])


def hard_cut(text: str, width: int) -> list[str]:
    """A bank's fixed-width causale field: cut every ``width`` characters, words or not."""
    return [text[i:i + width] for i in range(0, len(text), width)]


BANK_FOOTERS = {
    "Banco BPM": "Banco BPM S.p.A. - Sede legale Piazza F. Meda 4, 20121 Milano - Capitale "
                 "sociale Euro 7.100.000.000,00 - P.IVA 10537050964 - ABI 05034",
    "Crédit Agricole Italia": "Crédit Agricole Italia S.p.A. - Via Università 1, 43121 Parma - "
                              "Capitale Euro 1.102.071.063,00 - Tel. 0521 942111",
    "Banca Mediolanum": "Banca Mediolanum S.p.A. - Basiglio (MI) - Banking Center 800 107 107"
                        " - Capitale sociale Euro 600.000.000 i.v.",
    "Monte dei Paschi di Siena": "Banca Monte dei Paschi di Siena S.p.A. - Piazza Salimbeni 3,"
                                 " Siena - Capitale Euro 7.453.450.788,44 - Reg. Imprese "
                                 "00884060526",
}


def footer(s: Sheet, p: Payment, rng: random.Random) -> None:
    text = BANK_FOOTERS.get(p.bank, f"{p.bank} - Servizio clienti 800 {rng.randint(100, 999)} "
                                    f"{rng.randint(100, 999)} - Aderente al Fondo Interbancario"
                                    " di Tutela dei Depositi")
    s.line(40, 62, s.width - 40, 62, grey=0.6)
    for i, part in enumerate(wrap(text, 118)):
        s.text(40, 50 - 9 * i, part, size=6.5, grey=0.35)
    s.text(s.width - 40, 30, "Pag. 1 di 1", size=7, grey=0.35, align="right")


def _header(s: Sheet, p: Payment, title: str, subtitle: str, family: str = "sans") -> float:
    s.box(0, s.height - 70, s.width, 70, fill=0.88, grey=0.88)
    s.text(40, s.height - 38, p.bank, family=family, size=17, bold=True)
    s.text(s.width - 40, s.height - 38, subtitle, family=family, size=9, grey=0.3, align="right")
    s.text(40, s.height - 105, title, family=family, size=13, bold=True)
    return s.height - 135


# --- the home-banking receipts -------------------------------------------------------------

def draw_table(s: Sheet, p: Payment, rng: random.Random) -> Truth:
    """A bordered two-column table of label | value rows."""
    y = _header(s, p, "Esito disposizione di bonifico SEPA", "Internet Banking - Privati")
    cause = causale(p, rng)
    rows = [("Stato", "Eseguito"), ("Data esecuzione", d(p.paid_on)),
            ("Ordinante", f"{p.given} {p.family}".upper()),
            ("Conto di addebito", grouped(p.payer_iban)),
            ("Beneficiario", PROVIDER.upper()), ("IBAN beneficiario", grouped(PROVIDER_IBAN)),
            ("Banca del beneficiario", PROVIDER_BANK), ("Importo", f"EUR {it_money(p.amount)}"),
            ("Commissioni", f"EUR {it_money(p.fee)}"),
            ("Totale addebitato", f"EUR {it_money(p.total)}")]
    rows += [("Causale" if i == 0 else "", part) for i, part in enumerate(wrap(cause, 52))]
    rows += [("TRN", p.trn), ("CRO", p.cro)]
    for label, value in rows:
        s.box(40, y - 6, 170, 20, grey=0.5)
        s.box(210, y - 6, s.width - 250, 20, grey=0.5)
        s.text(46, y, label, size=9.5, bold=True)
        s.text(216, y, value, size=9.5)
        y -= 20
    footer(s, p, rng)
    return with_mailboxes(truth_for(p, reference=p.trn, references=(p.trn, p.cro)), cause, p)


def draw_two_columns(s: Sheet, p: Payment, rng: random.Random) -> Truth:
    """Payer on the left, beneficiary on the right, on the same lines."""
    y = _header(s, p, "Ricevuta bonifico", f"Operazione del {d(p.paid_on)}", "serif")
    left = ["ORDINANTE", f"{p.title} {p.payer}".strip(), f"{p.street}, {p.city}",
            "IBAN", grouped(p.payer_iban), p.bank]
    right = ["BENEFICIARIO", PROVIDER, "Via Cassia 1081, Roma", "IBAN", grouped(PROVIDER_IBAN),
             PROVIDER_BANK]
    for i, (a, b) in enumerate(zip(left, right)):
        bold = i in (0, 3)
        s.text(40, y, a, family="serif", size=10, bold=bold)
        s.text(s.width / 2 + 10, y, b, family="serif", size=10, bold=bold)
        y -= 16
    s.line(40, y, s.width - 40, y)
    y -= 26
    cause = causale(p, rng)
    details = [("Data di esecuzione", d(p.paid_on)), ("Data valuta beneficiario", d(p.paid_on)),
               ("Importo del bonifico", f"{it_money(p.amount)} EUR"),
               ("Spese", f"{it_money(p.fee)} EUR"), ("Causale", cause),
               ("Riferimento operazione (CRO)", p.cro)]
    for label, value in details:
        s.text(40, y, label, family="serif", size=10, grey=0.3)
        for j, part in enumerate(wrap(value, 48)):
            s.text(230, y - 14 * j, part, family="serif", size=10)
        y -= 14 * max(1, len(wrap(value, 48))) + 8
    footer(s, p, rng)
    return with_mailboxes(truth_for(p, reference=p.cro), cause, p)


def draw_letter(s: Sheet, p: Payment, rng: random.Random) -> Truth:
    """The bank's notice in prose."""
    y = _header(s, p, "Comunicazione di avvenuto bonifico", f"Prot. {p.op_id[:8]}", "serif")
    for line in [f"Spett.le {p.payer.upper()}", p.street.upper(), p.city.upper()]:
        s.text(s.width - 230, y, line, family="serif", size=10)
        y -= 14
    y -= 20
    cause = causale(p, rng)
    prose = (f"Gentile Cliente, la informiamo che il bonifico da lei disposto in data "
             f"{d(p.paid_on)} dal conto {grouped(p.payer_iban)} per un importo di EUR "
             f"{it_money(p.amount)} a favore di {PROVIDER.upper()}, IBAN {PROVIDER_IBAN}, con "
             f"causale \"{cause}\" e' stato regolarmente eseguito. Le commissioni applicate "
             f"ammontano a EUR {it_money(p.fee)}. Il numero identificativo dell'operazione "
             f"(TRN) e' {p.trn}.")
    for line in wrap(prose, 84):
        s.text(40, y, line, family="serif", size=10.5)
        y -= 16
    y -= 24
    s.text(40, y, "Cordiali saluti", family="serif", size=10.5)
    s.text(40, y - 16, f"{p.bank} - Filiale di {p.city}", family="serif", size=10.5)
    footer(s, p, rng)
    return with_mailboxes(truth_for(p, reference=p.trn), cause, p)


def draw_movements(s: Sheet, p: Payment, rng: random.Random) -> Truth:
    """A statement excerpt: the transfer as one movement among columns, balances around it."""
    y = _header(s, p, "Lista movimenti - dettaglio", f"Conto {grouped(p.payer_iban)}",
                "condensed")
    s.text(40, y, f"Intestatario: {p.payer.upper()}", family="condensed", size=10)
    y -= 28
    cols = [40, 105, 170, 440, 505]
    for x, label in zip(cols, ["Data cont.", "Data valuta", "Descrizione", "Dare", "Avere"]):
        s.text(x, y, label, family="condensed", size=9.5, bold=True)
    s.line(40, y - 5, s.width - 40, y - 5)
    y -= 22
    start = p.balance + p.total
    cause = causale(p, rng)
    s.text(170, y, f"Saldo iniziale {it_money(start)}", family="condensed", size=9.5)
    y -= 18
    s.text(cols[0], y, d(p.paid_on), family="condensed", size=9.5)
    s.text(cols[1], y, d(p.paid_on), family="condensed", size=9.5)
    description = (f"BONIFICO SEPA A FAVORE DI {PROVIDER.upper()} IBAN BENEF. {PROVIDER_IBAN} "
                   f"CAUS: {cause.upper()} TRN {p.trn}")
    parts = wrap(description, 46)
    for j, part in enumerate(parts):
        s.text(cols[2], y - 12 * j, part, family="condensed", size=9.5)
    s.text(cols[3] + 50, y, it_money(p.amount), family="condensed", size=9.5, align="right")
    y -= 12 * len(parts) + 6
    if p.fee:
        s.text(cols[0], y, d(p.paid_on), family="condensed", size=9.5)
        s.text(cols[2], y, "COMMISSIONI BONIFICO", family="condensed", size=9.5)
        s.text(cols[3] + 50, y, it_money(p.fee), family="condensed", size=9.5, align="right")
        y -= 18
    s.text(170, y, f"Saldo finale {it_money(p.balance)}", family="condensed", size=9.5)
    footer(s, p, rng)
    return with_mailboxes(truth_for(p, reference=p.trn), cause, p)


def draw_fixed_width(s: Sheet, p: Payment, rng: random.Random) -> Truth:
    """A monospaced slip with dotted leaders; the causale cut every 32 characters."""
    y = s.height - 70
    s.text(40, y, f"{p.bank.upper()} - DISTINTA DI BONIFICO", family="mono", size=12, bold=True)
    y -= 30
    cause = causale(p, rng).upper()
    rows = [("DATA ORDINE", d(p.paid_on)), ("DATA ESECUZIONE", d(p.paid_on)),
            ("ORDINANTE", p.payer.upper()), ("IBAN ORDINANTE", p.payer_iban),
            ("BENEFICIARIO", PROVIDER.upper()), ("IBAN BENEFICIARIO", PROVIDER_IBAN),
            ("IMPORTO", f"EUR {it_money(p.amount)}"), ("COMMISSIONI", f"EUR {it_money(p.fee)}"),
            ("TOTALE", f"EUR {it_money(p.total)}")]
    rows += [("CAUSALE" if i == 0 else "", part) for i, part in enumerate(hard_cut(cause, 32))]
    rows += [("CRO", p.cro), ("ESITO", "ESEGUITO")]
    for label, value in rows:
        lead = f"{label} " + "." * (22 - len(label)) if label else " " * 23
        s.text(40, y, f"{lead} {value}", family="mono", size=10)
        y -= 15
    s.text(40, y - 30, f"SALDO CONTABILE ......... EUR {it_money(p.balance)}", family="mono",
           size=10)
    footer(s, p, rng)
    return with_mailboxes(truth_for(p, reference=p.cro), cause, p)


def draw_confirmation(s: Sheet, p: Payment, rng: random.Random) -> Truth:
    """An app-style confirmation: the amount large at the top, labels over values."""
    y = s.height - 90
    s.text(s.width / 2, y, "Bonifico inviato", size=13, grey=0.3, align="centre")
    s.text(s.width / 2, y - 50, f"{it_money(p.amount)} €", size=34, bold=True, align="centre")
    y -= 110
    cause = causale(p, rng)
    pairs = [("Beneficiario", PROVIDER), ("IBAN", grouped(PROVIDER_IBAN)),
             ("Causale", cause), ("Data di esecuzione", d(p.paid_on)),
             ("Commissioni", f"{it_money(p.fee)} €"), ("Addebitato su", grouped(p.payer_iban)),
             ("Titolare", p.payer), ("Codice riferimento", p.cro)]
    for label, value in pairs:
        s.text(70, y, label, size=8.5, grey=0.45)
        for j, part in enumerate(wrap(value, 60)):
            s.text(70, y - 15 - 13 * j, part, size=11)
        y -= 34 + 13 * (len(wrap(value, 60)) - 1)
    footer(s, p, rng)
    return with_mailboxes(truth_for(p, reference=p.cro), cause, p)


BANK_LAYOUTS: dict[str, Callable[[Sheet, Payment, random.Random], Truth]] = {
    "table": draw_table, "two_columns": draw_two_columns, "letter": draw_letter,
    "movements": draw_movements, "fixed_width": draw_fixed_width,
    "confirmation": draw_confirmation,
}


# --- postal slips, cheques, fax cover pages --------------------------------------------------

def draw_poste_online(s: Sheet, p: Payment, rng: random.Random) -> Truth:
    """PosteOnline's receipt of a postal slip paid online (a text PDF)."""
    y = _header(s, replace(p, bank="BancoPosta"), "Ricevuta di pagamento bollettino",
                "Poste Italiane - Servizi online")
    cause = causale(p, rng)
    rows = [("Tipologia", "Bollettino premarcato 896" if rng.random() < 0.5 else
             "Bollettino bianco 123"), ("C/C beneficiario", PROVIDER_POSTAL_ACCOUNT),
            ("Intestato a", PROVIDER.upper()), ("Eseguito da", p.payer.upper()),
            ("Indirizzo", f"{p.street}, {p.city}"), ("Causale", cause),
            ("Importo", f"€ {it_money(p.amount)}"), ("Commissione", f"€ {it_money(p.fee)}"),
            ("Totale pagato", f"€ {it_money(p.total)}"), ("Data operazione", d(p.paid_on)),
            ("Codice identificativo", p.postal_ref)]
    for label, value in rows:
        s.text(40, y, label, size=10, grey=0.35)
        s.text(200, y, value, size=10)
        y -= 19
    footer(s, p, rng)
    return with_mailboxes(truth_for(p, iban=None, reference=p.postal_ref, method="bollettino"),
                          cause, p)


def draw_paper_slip(s: Sheet, p: Payment, rng: random.Random) -> Truth:
    """The receipt half of a paper postal slip, filled in and stamped (a ``SLIP`` sheet)."""
    top = s.height - 35
    x0, w, h = 36, s.width - 72, 260
    s.box(x0, top - h, w, h, width=1.2)
    s.text(x0 + 10, top - 20, "BancoPosta", size=12, bold=True)
    s.text(x0 + 110, top - 20, "CONTI CORRENTI POSTALI - Ricevuta di Versamento", size=9)
    s.text(x0 + 10, top - 48, "sul C/C n.", size=8)
    s.text(x0 + 62, top - 50, PROVIDER_POSTAL_ACCOUNT, family="mono", size=13, bold=True)
    s.text(x0 + 260, top - 48, "di Euro", size=8)
    s.text(x0 + 300, top - 50, it_money(p.amount), family="mono", size=13, bold=True)
    s.text(x0 + 10, top - 76, "IMPORTO IN LETTERE", size=7)
    s.text(x0 + 110, top - 78, slash_words(p.amount).upper(), family="mono", size=11)
    s.text(x0 + 10, top - 104, "INTESTATO A", size=7)
    s.text(x0 + 110, top - 106, PROVIDER.upper(), family="mono", size=11)
    s.text(x0 + 10, top - 132, "CAUSALE", size=7)
    cause = causale(p, rng).upper()
    for j, part in enumerate(wrap(cause, 42)):
        s.text(x0 + 110, top - 134 - 14 * j, part, family="mono", size=10)
    s.text(x0 + 10, top - 176, "ESEGUITO DA", size=7)
    s.text(x0 + 110, top - 178, p.payer.upper(), family="mono", size=11)
    s.text(x0 + 110, top - 194, f"{p.street.upper()} {p.city.upper()}", family="mono", size=9)
    # the post office's stamp and printed line
    s.canvas.setStrokeGray(0.2)
    s.canvas.circle(x0 + w - 70, top - 200, 42)
    s.text(x0 + w - 70, top - 190, "POSTE ITALIANE", size=6.5, align="centre")
    s.text(x0 + w - 70, top - 202, p.paid_on.strftime("%d.%m.%y"), size=9, bold=True,
           align="centre")
    s.text(x0 + w - 70, top - 214, f"UP {p.city.upper()[:10]}", size=6.5, align="centre")
    s.text(x0 + 10, top - 240, f"{p.postal_ref}  {p.paid_on.strftime('%d/%m/%Y')}  "
                               f"IMP {it_money(p.amount)}  TASSA {it_money(p.fee)}",
           family="mono", size=9)
    s.text(x0 + 10, top - 256, "BOLLO DELL'UFFICIO POSTALE - La ricevuta non e' valida se non"
                               " porta il bollo", size=6)
    return with_mailboxes(truth_for(p, iban=None, reference=p.postal_ref, method="bollettino"),
                          cause, p)


def draw_cheque_letter(s: Sheet, p: Payment, rng: random.Random, *, cheque_below: bool = True
                       ) -> Truth:
    """A covering letter; the cheque itself drawn below it (as photocopied on one page)."""
    y = s.height - 70
    sender = f"{p.title} {p.payer}".strip()
    for line in [sender, p.street, p.city, f"Tel. {p.phone}", f"P.IVA {p.vat}"]:
        s.text(40, y, line, family="serif", size=10)
        y -= 13
    y -= 10
    for line in [f"Spett.le {PROVIDER}", "Ufficio Amministrazione", "Via Cassia 1081",
                 "00189 Roma"]:
        s.text(s.width - 220, y, line, family="serif", size=10)
        y -= 13
    y -= 20
    s.text(40, y, f"{p.city}, {d(p.paid_on)}", family="serif", size=10)
    y -= 26
    codes = " e ".join(p.codes)
    subject = (f"Oggetto: pagamento rinnovo casella {p.pec}" if p.mailbox_only
               else f"Oggetto: pagamento ordine {codes}")
    s.text(40, y, subject, family="serif", size=10.5, bold=True)
    y -= 22
    prose = (f"Con la presente vi trasmetto l'assegno bancario n. {p.cheque_no} tratto su "
             f"{p.bank} dell'importo di euro {it_money(p.amount)} ({slash_words(p.amount)}) "
             f"intestato a {PROVIDER}, a saldo " +
             (f"del rinnovo della casella {p.pec}." if p.mailbox_only else
              f"dell'ordine {codes}.") + " Resto a disposizione per ogni chiarimento.")
    for line in wrap(prose, 86):
        s.text(40, y, line, family="serif", size=10.5)
        y -= 15
    y -= 14
    s.text(40, y, "Distinti saluti", family="serif", size=10.5)
    s.text(40, y - 15, sender, family="serif", size=10.5)
    if cheque_below:
        draw_cheque(s, p, top=y - 70)
    text = subject + prose
    return with_mailboxes(truth_for(p, iban=None, reference=p.cheque_no, method="assegno"),
                          text, p)


def draw_cheque(s: Sheet, p: Payment, top: float) -> None:
    x0, w, h = 40, s.width - 80, 200
    s.box(x0, top - h, w, h, fill=0.94, width=1.0)
    s.text(x0 + 12, top - 22, p.bank.upper(), size=12, bold=True)
    s.text(x0 + w - 12, top - 22, f"€ {it_money(p.amount)}", family="mono", size=15,
           bold=True, align="right")
    s.text(x0 + 12, top - 50, f"{p.city}, {d(p.paid_on)}", family="serif", size=10)
    s.text(x0 + 12, top - 76, "Pagate per questo assegno bancario", size=8)
    s.text(x0 + 180, top - 78, f"euro {slash_words(p.amount)}", family="serif", size=12)
    s.text(x0 + 12, top - 104, "a", size=8)
    s.text(x0 + 30, top - 106, PROVIDER, family="serif", size=12)
    s.text(x0 + 12, top - 130, "NON TRASFERIBILE", size=9, bold=True)
    s.text(x0 + w - 160, top - 150, p.payer, family="serif", size=11)
    s.line(x0 + w - 170, top - 155, x0 + w - 12, top - 155)
    s.text(x0 + 12, top - 185, f"{p.cheque_no}  {p.payer_iban[5:10]}  {p.payer_iban[10:15]}  "
                               f"{p.payer_iban[-12:]}", family="mono", size=11)


def draw_fax_cover(s: Sheet, p: Payment, rng: random.Random, pages: int) -> str:
    """A fax cover page; returns its text (it may name the code or the mailbox)."""
    y = s.height - 80
    s.text(40, y, "FAX", size=40, bold=True)
    s.text(s.width - 40, y, d(p.paid_on), size=11, align="right")
    y -= 60
    sender = f"{p.title} {p.payer}".strip()
    note = rng.choice([
        "In allegato copia del pagamento effettuato.",
        "Invio ricevuta bonifico come richiesto. Grazie.",
        f"Si trasmette attestazione di pagamento. Per info: {p.mobile}.",
    ])
    if not p.mailbox_only and rng.random() < 0.5:
        note += f" Rif. ordine {p.codes[0]}."
    rows = [("A", f"{PROVIDER} - Amministrazione"), ("Fax", "06 3329 1800"),
            ("Da", sender), ("Tel.", p.phone), ("Pagine", f"{pages} (compresa la presente)"),
            ("Oggetto", "Pagamento rinnovo PEC")]
    for label, value in rows:
        s.text(40, y, f"{label}:", size=12, bold=True)
        s.text(130, y, value, size=12)
        y -= 24
    y -= 20
    for line in wrap(note, 70):
        s.text(40, y, line, size=12)
        y -= 18
    return note


def fax_header(s: Sheet, p: Payment, page: int, pages: int) -> None:
    """The line a fax machine prints at the top of every page it sends (always upright)."""
    s.text(20, s.height - 14, f"{p.paid_on.strftime('%d/%m/%Y')} 10:{page + 10:02d}  "
                              f"+39 {p.phone}  {p.family.upper()}   PAG. {page:02d}/{pages:02d}",
           family="mono", size=8)
