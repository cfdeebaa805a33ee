"""The people of the accounting office: accounts, argon2 passwords, log-in with lock-out.

A user is an ``accountant`` (acts on receipts) or a ``viewer`` (only looks). Disabling a user
bumps their session epoch, which every session cookie carries: their sessions end at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import audit
from store.models import utcnow
from store.reviews import ROLES, LoginAttemptRow, UserRow

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()
# verified when the name is unknown, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    disabled: bool
    session_epoch: int

    @property
    def may_act(self) -> bool:
        return self.role == "accountant" and not self.disabled


def _user(row: UserRow) -> User:
    return User(row.id, row.name, row.role, row.disabled, row.session_epoch)


class UserError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise UserError(f"user name {name!r}: use 1-64 letters, digits, '.', '_', '-', '@'")
    return name


def add_user(session: Session, name: str, role: str, password: str, actor: str = "cli") -> User:
    check_name(name)
    if role not in ROLES:
        raise UserError(f"role {role!r}: must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    if session.scalar(select(UserRow).where(UserRow.name == name)) is not None:
        raise UserError(f"user {name!r} already exists")
    row = UserRow(name=name, role=role, password_hash=_hasher.hash(password), disabled=False,
                  session_epoch=0)
    session.add(row)
    audit.record(session, row, "role", role, reason=f"user {name} added", actor=actor)
    return _user(row)


def list_users(session: Session) -> list[User]:
    return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.name))]


def set_disabled(session: Session, name: str, disabled: bool, actor: str = "cli") -> User:
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    if row is None:
        raise UserError(f"user {name!r} does not exist")
    if row.disabled != disabled:
        audit.change(session, row, "disabled", disabled,
                     reason=f"user {name} {'disabled' if disabled else 'enabled'}", actor=actor)
    if disabled:
        row.session_epoch += 1  # every open session of this user ends
    return _user(row)


def get_user(session: Session, user_id: int) -> User | None:
    row = session.get(UserRow, user_id)
    return _user(row) if row is not None else None


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    locked_until: datetime | None = None


def failures_since(session: Session, name: str, since: datetime) -> tuple[int, datetime | None]:
    """Failed attempts for ``name`` after ``since`` and after the last success; the oldest."""
    last_ok = session.scalar(select(func.max(LoginAttemptRow.at)).where(
        LoginAttemptRow.name == name, LoginAttemptRow.ok.is_(True)))
    start = max(since, last_ok) if last_ok else since
    count, oldest = session.execute(select(func.count(), func.min(LoginAttemptRow.at)).where(
        LoginAttemptRow.name == name, LoginAttemptRow.ok.is_(False),
        LoginAttemptRow.at > start)).one()
    return count, oldest


def authenticate(session: Session, name: str, password: str, *, client: str | None,
                 max_failures: int, window: timedelta,
                 now: datetime | None = None) -> LoginResult:
    """Checks a password, counting failures per name: after ``max_failures`` within
    ``window`` the name is locked (even the right password is refused) until the oldest of
    those failures leaves the window. Every attempt is recorded."""
    now = now or utcnow()
    name = (name or "").strip()[:64]
    count, oldest = failures_since(session, name, now - window)
    if count >= max_failures and oldest is not None:
        session.add(LoginAttemptRow(name=name, at=now, ok=False, client=client))
        return LoginResult(None, locked_until=oldest + window)
    row = session.scalar(select(UserRow).where(UserRow.name == name)) if name else None
    ok = _verify(row.password_hash if row else _DUMMY_HASH, password) and row is not None \
        and not row.disabled
    session.add(LoginAttemptRow(name=name, at=now, ok=ok, client=client))
    if not ok:
        return LoginResult(None)
    assert row is not None
    row.last_login_at = now
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    return LoginResult(_user(row))


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password or "")
    except (VerificationError, InvalidHashError):
        return False
