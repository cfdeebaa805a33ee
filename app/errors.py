"""Re-export of ``core.errors`` for code written before the layers were enforced.

New code imports from ``core.errors``; nothing below ``app`` may import this module.
"""
from core.errors import (  # noqa: F401
    BadDocument,
    BadMessage,
    ConfigError,
    IntakeError,
    NeedsOcr,
    SourceUnreachable,
)

__all__ = ["BadDocument", "BadMessage", "ConfigError", "IntakeError", "NeedsOcr",
           "SourceUnreachable"]
