"""argon2 at its production cost makes each user and log-in take a noticeable time on a
loaded CI machine; the review tests use a cheap hasher (the algorithm and code are the same)."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from review import users


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", fast)
    monkeypatch.setattr(users, "_DUMMY_HASH", fast.hash("timing"))
