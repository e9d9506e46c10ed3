#!/usr/bin/env bash
# Backs up a running Signalboard deployment into one directory: MongoDB first, then
# Redis, with nothing stopped (docs/operations.md#backup-and-restore).
#
#   REDIS_URL=redis://… MONGODB_URL=mongodb://…/signalboard [REDIS_KEY_PREFIX=sb] \
#   [FERRETDB_SQLITE_DIR=<FerretDB's --sqlite-url directory>] scripts/backup.sh <dir>
#
# Why this order and the hold: MongoDB holds each partition's committed stream position,
# Redis the events after it. While the backup runs, a consumer group of its own on every
# partition stream keeps the aggregators from trimming (they trim below the slowest
# group), so the Redis snapshot, taken after MongoDB's, still holds every event past the
# position MongoDB's snapshot recorded, and a restore replays them. Every event
# acknowledged before the Redis snapshot is in the backup.
#
# MongoDB's snapshot must be of one moment: on FerretDB with SQLite, `VACUUM INTO` (one
# read transaction); on MongoDB, `mongodump --oplog` of the whole replica set.
set -euo pipefail

dest=${1:?usage: scripts/backup.sh <backup-dir>}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
mongo_url=${MONGODB_URL:-mongodb://127.0.0.1:27017/signalboard}
prefix=${REDIS_KEY_PREFIX:-sb}
hold=signalboard-backup
mkdir -p "$dest"
if [ -n "$(ls -A "$dest")" ]; then echo "backup: $dest is not empty; give a new directory" >&2; exit 2; fi

rcli() { redis-cli -u "$redis_url" --no-auth-warning "$@"; }
now_ms() { date +%s%3N; }
started=$(now_ms)

mapfile -t streams < <(rcli --scan --pattern "$prefix:events:{p*}")
if [ ${#streams[@]} -eq 0 ]; then echo "backup: no event streams under the prefix '$prefix' in $redis_url; is REDIS_KEY_PREFIX right?" >&2; exit 2; fi
release() {
  for stream in "${streams[@]}"; do rcli XGROUP DESTROY "$stream" "$hold" >/dev/null || true; done
}
trap release EXIT
for stream in "${streams[@]}"; do
  # BUSYGROUP: a backup that died left its hold; taking it over is what we want.
  answer=$(rcli XGROUP CREATE "$stream" "$hold" 0 2>&1 || true)
  [[ $answer == OK || $answer == BUSYGROUP* ]] || { echo "backup: could not hold $stream: $answer" >&2; exit 1; }
done

if [ -n "${FERRETDB_SQLITE_DIR:-}" ]; then
  db=${mongo_url##*/}
  db=${db%%\?*}
  [ -f "$FERRETDB_SQLITE_DIR/$db.sqlite" ] || { echo "backup: no database file $FERRETDB_SQLITE_DIR/$db.sqlite" >&2; exit 2; }
  sqlite3 "$FERRETDB_SQLITE_DIR/$db.sqlite" "VACUUM INTO '$dest/$db.sqlite'"
  mongo_file="$db.sqlite"
else
  command -v mongodump >/dev/null || { echo "backup: mongodump is not on PATH (MongoDB Database Tools); for FerretDB on SQLite set FERRETDB_SQLITE_DIR" >&2; exit 2; }
  # The whole deployment with its oplog: one moment for every collection.
  mongodump --uri "${mongo_url%/*}/" --oplog --archive="$dest/mongodb.archive.gz" --gzip --quiet
  mongo_file=mongodb.archive.gz
fi
mongo_done=$(now_ms)

rcli --rdb "$dest/redis.rdb" >/dev/null
redis_done=$(now_ms)
release
trap - EXIT

cat >"$dest/backup.json" <<EOF
{"startedAt": $started, "mongodbAt": $mongo_done, "redisAt": $redis_done, "prefix": "$prefix", "mongodb": "$mongo_file", "redis": "redis.rdb", "streams": ${#streams[@]}}
EOF
echo "backup: $dest (MongoDB $((mongo_done - started)) ms, Redis $((redis_done - mongo_done)) ms): every event acknowledged before $(date -u -d "@$((mongo_done / 1000))" +%FT%TZ) is in it"
