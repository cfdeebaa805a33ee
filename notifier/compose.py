"""Composing customers' emails from the Italian templates (Jinja2, kept as files)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from matching.decide import euro
from matching.orders import Order

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
