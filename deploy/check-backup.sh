#!/usr/bin/env bash
# Proves a backup restores: the dump into a scratch database, the originals into a scratch
# folder, then pec-intake itself reads it (`status --json`, `receipts list`) and every original
# a receipt names is there with the right SHA-256. Nothing of the live service is touched.
#   deploy/check-backup.sh BACKUP_DIR ADMIN_URL
# ADMIN_URL: a libpq URL of a role that may CREATE DATABASE, e.g. postgresql://postgres@localhost/postgres
set -euo pipefail
backup="${1:?BACKUP_DIR}"; admin="${2:?ADMIN_URL}"
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"; [ -x "$python" ] || python=python3
( cd "$backup" && sha256sum --quiet -c SHA256SUMS )
scratch="pec_intake_restore_check_$$"
work="$(mktemp -d)"
trap 'psql -q "$admin" -c "DROP DATABASE IF EXISTS $scratch WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
psql -q -v ON_ERROR_STOP=1 "$admin" -c "CREATE DATABASE $scratch" >/dev/null
restore_url="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin" "$scratch")"
pg_restore --no-owner --exit-on-error --dbname="$restore_url" "$backup/database.dump"
mkdir -p "$work/originals"
tar -C "$work/originals" -xf "$backup/originals.tar"
cat > "$work/check.toml" <<TOML
[database]
url = "${restore_url/postgresql:/postgresql+psycopg:}"
[storage]
originals_dir = "$work/originals"
[[sources]]
name = "restore-check"
kind = "folder"
path = "$work/inbox"
TOML
"$python" "$here/run.py" --config "$work/check.toml" status --json > "$work/status.json"
cd "$here"
"$python" - "$work/check.toml" <<'PY'
import hashlib, sys
sys.path.insert(0, ".")
from sqlalchemy import create_engine, text
from config.settings import load_settings
from store.originals import OriginalStore
settings = load_settings(sys.argv[1])
engine = create_engine(settings.database_url)
with engine.connect() as conn:
    digests = [d for (d,) in conn.execute(text("SELECT DISTINCT sha256 FROM messages"))]
    orders = conn.execute(text("SELECT count(*) FROM orders")).scalar()
store = OriginalStore(settings.originals_dir)
missing = [d for d in digests if not store.path_for(d).exists()
           or hashlib.sha256(store.get(d)).hexdigest() != d]
print(f"restore check: {orders} orders, {len(digests)} originals named, {len(missing)} missing or damaged")
sys.exit(1 if missing else 0)
PY
echo "backup $backup restores"
