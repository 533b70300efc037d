#!/bin/sh
# hall-backup.sh DIRECTORY: one backup of the database that $HALL_DATABASE_URL names, while the server runs.
#   PostgreSQL: pg_dump in its custom format (restore with pg_restore, docs/deploy.md)
#   SQLite (sqlite:////absolute/path): SQLite's online backup API, a consistent copy of a live WAL database
# $HALL_MEDIA_DIR (optional): also a tar of the wall displays' uploaded media.
# $HALL_BACKUP_KEEP_DAYS (optional): remove this script's backups older than that many days.
# Each file is written under a .part name and renamed when complete, so a half-written backup is never taken
# for a good one. Prints the path of each backup written.
set -eu
dir=${1:?usage: hall-backup.sh DIRECTORY}
url=${HALL_DATABASE_URL:?HALL_DATABASE_URL is not set}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dir"
case "$url" in
  postgresql+psycopg://*) url="postgresql://${url#postgresql+psycopg://}" ;;
esac
case "$url" in
  postgresql://*|postgres://*)
    out="$dir/hall-$stamp.dump"
    pg_dump --format=custom --file="$out.part" "$url"
    ;;
  sqlite:////*)
    out="$dir/hall-$stamp.sqlite3"
    python3 - "${url#sqlite:///}" "$out.part" <<'PY'
import sqlite3, sys
source = sqlite3.connect(sys.argv[1])
target = sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)
check = target.execute("PRAGMA quick_check").fetchone()[0]
if check != "ok":
    sys.exit(f"backup failed its check: {check}")
PY
    ;;
  *)
    echo "hall-backup.sh: HALL_DATABASE_URL must be postgresql://... or sqlite:////absolute/path" >&2
    exit 2
    ;;
esac
mv "$out.part" "$out"
echo "$out"
if [ -n "${HALL_MEDIA_DIR:-}" ] && [ -d "$HALL_MEDIA_DIR" ]; then
  tar -czf "$dir/media-$stamp.tar.gz.part" -C "$HALL_MEDIA_DIR" .
  mv "$dir/media-$stamp.tar.gz.part" "$dir/media-$stamp.tar.gz"
  echo "$dir/media-$stamp.tar.gz"
fi
if [ -n "${HALL_BACKUP_KEEP_DAYS:-}" ]; then
  find "$dir" -maxdepth 1 -type f \( -name 'hall-*.dump' -o -name 'hall-*.sqlite3' -o -name 'media-*.tar.gz' \) \
    -mtime +"$HALL_BACKUP_KEEP_DAYS" -delete
fi
