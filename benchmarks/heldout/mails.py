"""Customers' emails in their own words, and emails that carry the bank's proof attached."""
from __future__ import annotations

import hashlib
import random
import unicodedata
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

from benchmarks.heldout.truth import (
    PROVIDER,
    PROVIDER_IBAN,
    Payment,
    Truth,
    grouped,
    it_money,
    truth_for,
    with_mailboxes,
)
from benchmarks.heldout.words import slash_words, spoken_words

ROME = timezone(timedelta(hours=1))
ADMIN = "amministrazione@lextel.example.it"


def _written_code(code: str, rng: random.Random) -> str:
    return rng.choice([code, code, f"{code[:3]}-{code[3:]}", f"{code[:3]} {code[3:]}",
                       f"n. {code}", code.lower()])


def _date_words(p: Payment, rng: random.Random) -> str:
    months = ("gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre "
              "novembre dicembre").split()
    return rng.choice([p.paid_on.strftime("%d/%m/%Y"), p.paid_on.strftime("%d.%m.%Y"),
                       f"{p.paid_on.day} {months[p.paid_on.month - 1]} {p.paid_on.year}"])


def signature(p: Payment, rng: random.Random) -> str:
    lines = ["--" if rng.random() < 0.5 else "", f"{p.title} {p.payer}".strip(),
             f"{p.street} - {p.city}"]
    lines += rng.sample([f"Tel. {p.phone}", f"Cell. {p.mobile}", f"P.IVA {p.vat}",
                         f"Fax {p.phone[:-3]}{rng.randint(100, 999)}",
                         f"C.F. e P.IVA {p.vat}", f"PEC: {p.pec}"], 3)
    return "\n".join(line for line in lines if line)


def quoted_provider(p: Payment, rng: random.Random, sent: datetime) -> str:
    """The provider's earlier reminder, quoted under the reply: its figures are not the
    customer's (price before VAT, VAT, the assisted renewal's fee, a deadline)."""
    net = (p.amount / p.amount.__class__("1.22")).quantize(p.amount.__class__("0.01"))
    asked = sent - timedelta(days=rng.randint(2, 20))
    lines = [f"Il giorno {asked.strftime('%d/%m/%Y')} alle ore 09:{rng.randint(10, 59)}, "
             f"{PROVIDER} <{ADMIN}> ha scritto:",
             "Gentile cliente,",
             # a customer who wrote only the mailbox was sent no code to quote back
             ("il rinnovo" if p.mailbox_only else f"l'ordine {p.codes[0]} per il rinnovo")
             + f" della casella {p.pec} risulta in attesa di pagamento.",
             f"Prezzo IVA esclusa: {it_money(net)} EUR",
             f"IVA 22%: {it_money(p.amount - net)} EUR",
             "Il rinnovo assistito costa 25,00 EUR in piu'.",
             f"Scadenza della casella: {(asked + timedelta(days=40)).strftime('%d/%m/%Y')}",
             f"Beneficiario {PROVIDER}, IBAN {grouped(PROVIDER_IBAN)}",
             "Cordiali saluti, Ufficio Amministrazione"]
    return "\n".join("> " + line for line in lines)


def customer_body(p: Payment, rng: random.Random) -> tuple[str, Truth]:
    """A customer's own account of the payment; the truth is what the words say."""
    greeting = rng.choice(["Buongiorno,", "Salve,", "Spett.le Amministrazione,",
                           "Gentili signori,", "Buonasera,"])
    amount = it_money(p.amount)
    dated = rng.random() < 0.6
    when = f" in data {_date_words(p, rng)}" if dated else ""
    codes = [_written_code(c, rng) for c in p.codes]
    if p.mailbox_only:
        main = rng.choice([
            f"ho pagato{when} il rinnovo della casella {p.pec} (userid {p.userid}) con un "
            f"bonifico di {amount} euro.",
            f"vi informo che{when} ho effettuato il bonifico di € {amount} per rinnovare la "
            f"mia PEC {p.pec}.",
        ])
    elif len(codes) > 1:
        items = "\n".join(f"- ordine {c}: {it_money(a)} €" for c, a in zip(codes, p.amounts))
        main = rng.choice([
            f"con un solo bonifico{when} ho pagato gli ordini {', '.join(codes[:-1])} e "
            f"{codes[-1]}, totale € {amount}.",
            f"ho saldato{when} con un unico bonifico i seguenti ordini:\n{items}\n"
            f"per un totale di euro {amount}.",
        ])
    else:
        main = rng.choice([
            f"vi comunico di aver effettuato{when} il bonifico di € {amount} per l'ordine "
            f"{codes[0]}.",
            f"ho pagato l'ordine {codes[0]}{when}, importo {amount} euro.",
            f"come da vostra richiesta ho versato{when} {spoken_words(p.amount)} a saldo "
            f"dell'ordine {codes[0]}.",
            f"allego i dati del pagamento dell'ordine {codes[0]}: euro {amount} "
            f"({slash_words(p.amount)}), bonifico{when}.",
        ])
    extra, reference, iban = [], None, None
    if rng.random() < 0.5:
        reference = rng.choice([p.cro, p.trn])
        extra.append(rng.choice([f"Il CRO dell'operazione è {reference}.",
                                 f"Riferimento del bonifico (TRN): {reference}",
                                 f"codice operazione {reference}"]))
    if rng.random() < 0.3:
        iban = PROVIDER_IBAN
        extra.append(f"Il bonifico è stato fatto sul vostro IBAN {grouped(PROVIDER_IBAN)}.")
    extra.append(rng.choice(["Restando in attesa di conferma, porgo cordiali saluti.",
                             "Grazie e buona giornata.", "Saluti.",
                             "Vi prego di procedere con il rinnovo. Cordialità"]))
    body = "\n".join([greeting, main, *extra, "", signature(p, rng)])
    truth = truth_for(p, iban=iban, reference=reference, dated=dated)
    return body, with_mailboxes(truth, body, p)


def email_bytes(p: Payment, rng: random.Random, body: str, subject: str, *,
                html: bool = False, attachments: list[tuple[str, str, bytes]] = ()) -> bytes:
    sent = datetime(p.paid_on.year, p.paid_on.month, p.paid_on.day, rng.randint(8, 20),
                    rng.randint(0, 59), tzinfo=ROME) + timedelta(days=rng.randint(0, 2))
    msg = EmailMessage()
    local = unicodedata.normalize("NFKD", f"{p.given}.{p.family}").encode("ascii", "ignore")
    local = local.decode().lower().replace(" ", "").replace("'", "")
    domain = rng.choice(["gmail.com", "libero.it", "studiolegale.example.it"])
    msg["From"] = f"{p.payer} <{local}@{domain}>"
    msg["To"] = f"Amministrazione {PROVIDER} <{ADMIN}>"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(sent)
    digest = hashlib.sha256(f"{subject}|{body}".encode()).hexdigest()
    msg["Message-ID"] = f"<{digest[:24]}@heldout.example>"
    if html:
        paragraphs = "".join(f"<div>{line or '<br>'}</div>" for line in body.split("\n"))
        msg.set_content(f"<html><body style=\"font-family:Arial\">{paragraphs}</body></html>",
                        subtype="html")
    else:
        msg.set_content(body)
    for name, ctype, data in attachments:
        main, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    for index, part in enumerate(msg.walk()):
        if part.is_multipart():
            part.set_boundary(f"----=_Part_{index}_{digest[:16]}")
    return bytes(msg)


def body_email(p: Payment, rng: random.Random) -> tuple[bytes, Truth, str]:
    body, truth = customer_body(p, rng)
    sent = datetime(p.paid_on.year, p.paid_on.month, p.paid_on.day, 12, tzinfo=ROME)
    quoted = rng.random() < 0.35
    if quoted:
        body += "\n\n" + quoted_provider(p, rng, sent)
    subject = rng.choice(["Pagamento effettuato", "Rinnovo PEC", "bonifico"]) if \
        p.mailbox_only else rng.choice([f"Pagamento ordine {p.codes[0]}", "Avvenuto pagamento",
                                        f"Re: Promemoria ordine {p.codes[0]}"])
    if quoted and not subject.startswith("Re:"):
        subject = "Re: " + subject
    html = rng.random() < 0.25
    detail = f"{len(p.codes)} codes{' quoted' if quoted else ''}{' html' if html else ''}" \
             f"{' mailbox' if p.mailbox_only else ''}"
    return email_bytes(p, rng, body, subject, html=html), truth, detail


def attachment_email(p: Payment, rng: random.Random, attachment: tuple[str, str, bytes],
                     attached: Truth) -> tuple[bytes, Truth]:
    """A short note with the proof attached; the note may name the code again."""
    names_code = bool(attached.codes) and rng.random() < 0.6
    note = rng.choice(["In allegato la ricevuta del bonifico.", "Vi invio la contabile.",
                       "Allego copia del pagamento.", "Ecco la ricevuta"])
    if names_code:
        note += f" Ordine {attached.codes[0]}."
    body = "\n".join([rng.choice(["Buongiorno,", "Salve", "Gentili signori,"]), note, "",
                      signature(p, rng)])
    subject = f"Ricevuta ordine {attached.codes[0]}" if names_code else \
        rng.choice(["Ricevuta pagamento", "contabile bonifico", "Fwd: ricevuta"])
    return (email_bytes(p, rng, body, subject, attachments=[attachment]),
            with_mailboxes(attached, body, p))
