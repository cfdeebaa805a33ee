"""What a review action or a login can refuse, with a reason a person reads (Italian for the
UI is chosen in the templates; the reason itself is English for logs and the CLI)."""
from __future__ import annotations


class ReviewError(Exception):
    """An action that cannot be done as asked; nothing was changed."""

    status_code = 400

    def __init__(self, reason: str, message_it: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message_it = message_it or reason


class NotFound(ReviewError):
    status_code = 404


class Conflict(ReviewError):
    """Someone else decided first (the version check), or the state no longer allows it."""

    status_code = 409


class Forbidden(ReviewError):
    status_code = 403
