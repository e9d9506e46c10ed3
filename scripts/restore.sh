#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh, in two steps around starting Redis
# (docs/operations.md#backup-and-restore). Every Signalboard process is stopped.
#
# 1. With Redis stopped (and FerretDB stopped, for FERRETDB_SQLITE_DIR):
#      REDIS_DIR=<Redis's dir> [FERRETDB_SQLITE_DIR=<dir>] MONGODB_URL=… scripts/restore.sh <backup> files
#    puts the Redis snapshot in place as dump.rdb (what was there is moved aside) and
#    restores MongoDB: the SQLite file for FerretDB, else `mongorestore --drop --oplogReplay`.
# 2. Start Redis with `--appendonly no` (so it loads dump.rdb; with AOF on and no AOF
#    files it would start empty), then:
#      REDIS_URL=… REDIS_KEY_PREFIX=… scripts/restore.sh <backup> finish
#    turns the AOF on (Redis writes it from the loaded data; keep `appendonly yes` in
#    its config for the next start), drops the backup's hold on the streams, and drops
#    the live feed, which is ahead of MongoDB's restored figures: gateways see a new
#    epoch and dashboards reload their figures. Then start Signalboard.
set -euo pipefail

src=${1:?usage: scripts/restore.sh <backup-dir> files|finish}
step=${2:?usage: scripts/restore.sh <backup-dir> files|finish}
[ -f "$src/backup.json" ] || { echo "restore: $src holds no backup.json: not a backup made by scripts/backup.sh" >&2; exit 2; }
aside=before-restore-$(date +%Y%m%dT%H%M%S)

case $step in
files)
  redis_dir=${REDIS_DIR:?set REDIS_DIR to the data directory of the (stopped) Redis}
  mkdir -p "$redis_dir"
  for old in dump.rdb appendonlydir; do
    if [ -e "$redis_dir/$old" ]; then mv "$redis_dir/$old" "$redis_dir/$old.$aside"; fi
  done
  cp "$src/redis.rdb" "$redis_dir/dump.rdb"
  mongo_url=${MONGODB_URL:-mongodb://127.0.0.1:27017/signalboard}
  if [ -n "${FERRETDB_SQLITE_DIR:-}" ]; then
    db=${mongo_url##*/}
    db=${db%%\?*}
    [ -f "$src/$db.sqlite" ] || { echo "restore: the backup holds no $db.sqlite (backup.json names $(grep -o '"mongodb": "[^"]*"' "$src/backup.json"))" >&2; exit 2; }
    mkdir -p "$FERRETDB_SQLITE_DIR"
    for old in "$db.sqlite" "$db.sqlite-wal" "$db.sqlite-shm"; do
      if [ -e "$FERRETDB_SQLITE_DIR/$old" ]; then mv "$FERRETDB_SQLITE_DIR/$old" "$FERRETDB_SQLITE_DIR/$old.$aside"; fi
    done
    cp "$src/$db.sqlite" "$FERRETDB_SQLITE_DIR/$db.sqlite"
  else
    command -v mongorestore >/dev/null || { echo "restore: mongorestore is not on PATH (MongoDB Database Tools)" >&2; exit 2; }
    mongorestore --uri "${mongo_url%/*}/" --drop --oplogReplay --archive="$src/mongodb.archive.gz" --gzip --quiet
  fi
  echo "restore: files in place; start Redis with --appendonly no, then: scripts/restore.sh $src finish"
  ;;
finish)
  redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
  prefix=${REDIS_KEY_PREFIX:-sb}
  rcli() { redis-cli -u "$redis_url" --no-auth-warning "$@"; }
  [ "$(rcli EXISTS "$prefix:deployment")" = 1 ] || { echo "restore: $redis_url holds no $prefix:deployment: was Redis started with --appendonly no on the restored dump.rdb, and is REDIS_KEY_PREFIX right?" >&2; exit 2; }
  rcli CONFIG SET appendonly yes >/dev/null
  # The AOF is written from the loaded data in the background; done when neither runs nor waits.
  until [ "$(rcli INFO persistence | grep -cE '^aof_rewrite_(in_progress|scheduled):0')" = 2 ]; do sleep 0.1; done
  while read -r stream; do
    [ -n "$stream" ] && rcli XGROUP DESTROY "$stream" signalboard-backup >/dev/null
  done < <(rcli --scan --pattern "$prefix:events:{p*}")
  for pattern in "$prefix:feed:{*}" "$prefix:feedseq:{*}" "$prefix:feedbatch:{*}" "$prefix:feedepoch:{*}"; do
    while read -r key; do
      [ -n "$key" ] && rcli DEL "$key" >/dev/null
    done < <(rcli --scan --pattern "$pattern")
  done
  echo "restore: Redis has its AOF on and no backup hold; start Signalboard"
  ;;
*)
  echo "restore: the step is 'files' or 'finish', not '$step'" >&2
  exit 2
  ;;
esac
