#!/bin/sh
# Back up and restore a Corral PostgreSQL database (DATABASE_URL=postgresql://...) with
# PostgreSQL's own tools (Debian: postgresql-client, the server's major version or newer).
#   scripts/pg-backup.sh dump    URL FILE   consistent snapshot, safe while the agent writes
#   scripts/pg-backup.sh restore URL FILE   replaces Corral's tables with FILE's, all or
#                                           nothing; stop the agent first, start it after
# Tested: tests/storage/test_pg_backup_restore.py; timed: bench/backup_restore.py.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 dump|restore postgresql://USER[:PASSWORD]@HOST[:PORT]/DB FILE" >&2; exit 2; }
action=$1 url=$2 file=$3
case "$url" in postgresql://*) ;; *) echo "URL: expected postgresql://..., got a different scheme" >&2; exit 2 ;; esac
case "$action" in
  dump) exec pg_dump --format=custom --no-owner --file="$file" --dbname="$url" ;;
  restore) exec pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error --dbname="$url" "$file" ;;
  *) echo "action: expected dump or restore, got '$action'" >&2; exit 2 ;;
esac
