#!/usr/bin/env bash
# Backs up pec-intake: the PostgreSQL database (pg_dump, custom format) and the originals store
# (every message's bytes, by SHA-256), into one folder named for the time.
#   deploy/backup.sh DATABASE_URL ORIGINALS_DIR BACKUP_ROOT
# DATABASE_URL as libpq takes it: postgresql://user@host:port/db (no "+psycopg").
# Dump first, originals second: every original a dumped row names is then in the archive
# (originals are written before their row is committed, and never changed).
set -euo pipefail
url="${1:?DATABASE_URL}"; originals="${2:?ORIGINALS_DIR}"; root="${3:?BACKUP_ROOT}"
url="${url/postgresql+psycopg:/postgresql:}"
dest="$root/pec-intake-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dest"
pg_dump --format=custom --no-owner --file="$dest/database.dump" "$url"
tar -C "$originals" -cf "$dest/originals.tar" .
( cd "$dest" && sha256sum database.dump originals.tar > SHA256SUMS )
echo "$dest"
