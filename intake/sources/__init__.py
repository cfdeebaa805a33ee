"""Where messages come from. Every source yields ``IncomingMessage`` and settles each one
(moves it to processed or quarantine) only after its outcome is committed."""
from intake.sources.base import IncomingMessage, Settlement, Source

__all__ = ["IncomingMessage", "Settlement", "Source", "open_source"]


def open_source(settings, limits=None) -> Source:  # noqa: ANN001 - SourceSettings
    """The source object for one ``[[sources]]`` entry."""
    if settings.kind == "folder":
        from intake.sources.folder import FolderSource
        return FolderSource(settings, limits)
    from intake.sources.imap import ImapSource
    return ImapSource(settings, limits)
