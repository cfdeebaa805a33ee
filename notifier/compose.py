"""Composing customers' emails from the Italian templates (Jinja2, kept as files)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from matching.decide import euro
from matching.orders import Order
from matching.renewal import offline_prefix

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOCAL_TIME = ZoneInfo("Europe/Rome")

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class ComposedMail:
    template: str
    to: str
    subject: str
    text: str
    html: str | None


def render(template: str, to: str, **context: object) -> ComposedMail:
    subject = _env.get_template(f"{template}.subject.j2").render(**context).strip()
    text = _env.get_template(f"{template}.txt.j2").render(**context)
    html_name = f"{template}.html.j2"
    html = _env.get_template(html_name).render(**context) \
        if (TEMPLATES / html_name).exists() else None
    return ComposedMail(template, to, subject, text, html)


def payment_received(order: Order, paid_amount: Decimal, renewal_due_at: datetime,
                     sender_name: str) -> ComposedMail:
    local = renewal_due_at.astimezone(LOCAL_TIME)
    return render(
        "payment_received", order.customer_email, order=order, amount=euro(paid_amount),
        due=euro(order.amount), overpaid=paid_amount > order.amount,
        renewal_date=local.strftime("%d/%m/%Y"), renewal_time=local.strftime("%H:%M"),
        sender_name=sender_name,
    )


def payment_received_support(order: Order, paid_amount: Decimal,
                             sender_name: str) -> ComposedMail:
    """Paid, but sales support must renew it (matching.rules): the customer still learns
    that the money arrived, and that nothing more is asked of them."""
    if offline_prefix(order.userid) is not None:
        why_it = "le caselle con userid KVIS, KLX o HLH non si rinnovano online"
    else:
        why_it = f"la casella è scaduta il {_it_date(order.expiry_date)}, da più di 6 mesi"
    return render("payment_received_support", order.customer_email, order=order,
                  amount=euro(paid_amount), why_it=why_it, sender_name=sender_name)


def _it_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def renewal_done(order: Order, new_expiry: date, sender_name: str) -> ComposedMail:
    """The summary the guides promise once the mailbox is renewed: address, new expiry."""
    years_text = "1 anno" if order.years == 1 else f"{order.years} anni"
    return render(
        "renewal_done", order.customer_email, order=order, years_text=years_text,
        old_expiry=_it_date(order.expiry_date), new_expiry=_it_date(new_expiry),
        sender_name=sender_name,
    )


PROOF_REQUESTS = ("readable_proof", "missing_code", "bank_document")


def proof_request(what: str, to: str, sender_name: str, *, subject: str | None = None,
                  received_at: datetime | None = None, filename: str | None = None,
                  note: str | None = None) -> ComposedMail:
    """Asks the sender of a receipt for a readable proof or for the missing order code."""
    if what not in PROOF_REQUESTS:
        raise ValueError(f"unknown request {what!r}; expected one of {PROOF_REQUESTS}")
    received_on = _it_date(received_at.astimezone(LOCAL_TIME)) if received_at else None
    subject = " ".join(subject.split()) if subject else None  # one header line
    return render("proof_request", to, what=what, subject=subject, received_on=received_on,
                  filename=filename, note=note, sender_name=sender_name)
