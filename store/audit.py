"""Audited state changes: every change of a tracked field writes who, what, from, to, why."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from store.models import AuditRow, Base

DAEMON = "daemon"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def change(session: Session, row: Base, field: str, new: Any, *, reason: str,
           actor: str = DAEMON) -> None:
    """Sets ``row.field = new`` and records the change (nothing is recorded if unchanged)."""
    old = getattr(row, field)
    if old == new:
        return
    setattr(row, field, new)
    session.flush()  # a new row needs its id for the audit entry
    session.add(AuditRow(actor=actor, entity=row.__tablename__, entity_id=row.id, field=field,
                         old_value=_text(old), new_value=_text(new), reason=reason))


def record(session: Session, row: Base, field: str, value: Any, *, reason: str,
           actor: str = DAEMON) -> None:
    """Records the initial value of a newly created row's tracked field."""
    session.flush()
    session.add(AuditRow(actor=actor, entity=row.__tablename__, entity_id=row.id, field=field,
                         old_value=None, new_value=_text(value), reason=reason))


def record_change(session: Session, row: Base, field: str, old: Any, new: Any, *,
                  reason: str, actor: str = DAEMON) -> None:
    """Records a change already applied (e.g. by a guarded UPDATE)."""
    session.add(AuditRow(actor=actor, entity=row.__tablename__, entity_id=row.id, field=field,
                         old_value=_text(old), new_value=_text(new), reason=reason))
