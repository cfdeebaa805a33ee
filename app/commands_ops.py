"""``originals prune``: the retention of original messages (``[service] retention_days``)."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from config.settings import Settings
from core.errors import ConfigError
from store.db import Database
from store.operations import prunable_originals
from store.originals import OriginalStore

log = logging.getLogger("pec_intake.retention")


def prune_originals(settings: Settings, db: Database, days: float | None,
                    dry_run: bool) -> int:
    """Deletes the originals older than the retention, never those of a receipt still in
    review (or being processed, or waiting for the bank's line). The database rows stay:
    what came in and what became of it is still on record."""
    days = settings.service.retention_days if days is None else days
    if not days or days <= 0:
        raise ConfigError("originals prune: no retention set (service.retention_days = 0 "
                          "keeps every original); give --days N to prune anyway")
    cutoff = datetime.now(UTC) - timedelta(days=days)
    with db.session() as session:
        digests = prunable_originals(session, cutoff)
    store = OriginalStore(settings.originals_dir)
    removed = freed = 0
    for digest in digests:
        path = store.path_for(digest)
        if not path.exists():
            continue
        freed += path.stat().st_size
        removed += 1
        if not dry_run:
            path.unlink()
    verb = "would remove" if dry_run else "removed"
    print(f"originals: {verb} {removed} older than {days:g} days ({freed / 1e6:.1f} MB); "
          "those of receipts still in review are kept")
    return 0
