#!/usr/bin/env bash
# Store faults against a real parleyd (issue #7): a full disk (the data directory on a
# small tmpfs this test mounts; root only, skipped otherwise) and a database locked by
# another process. Each gives the client and the operator a clear error, loses nothing
# already stored, and the same write succeeds once the space returns / the lock goes.
# The operator's log must name the failed operation and the store's reason.
# Usage: store_faults_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: store_faults_test.sh BUILD_DIR}" && pwd)
test_name=store_faults_test
source "$(dirname "$0")/lib.sh"
parley_timeout=20
command -v sqlite3 > /dev/null || { echo "SKIP: sqlite3 (the command-line shell) is not installed"; exit 0; }
db="$work/data/parley.db"
sql() { sqlite3 -batch -noheader "$db" "$1"; }
# The stored rows that must survive every fault.
snapshot() { sql "SELECT name FROM accounts ORDER BY name; SELECT owner_id || '>' || contact_id FROM contacts ORDER BY 1"; }

mounted=0
if [[ $(id -u) == 0 ]] && mkdir -p "$work/data" && mount -t tmpfs -o size=6m tmpfs "$work/data" 2> /dev/null; then
  mounted=1
  trap 'stop_server; umount "$work/data" 2>/dev/null || umount -l "$work/data"; cleanup' EXIT
fi

start_server
for who in alice bob; do p "$who" init --server "$ws" --name "$who" > "$work/init_$who.log" 2>&1 || fail "$who: $(cat "$work/init_$who.log")"; done
p bob contacts add alice > /dev/null
before=$(snapshot)

# 1. Full disk.
if ((mounted)); then
  dd if=/dev/zero of="$work/data/filler" bs=64k 2> /dev/null || true  # until ENOSPC
  p carol init --server "$ws" --name carol > "$work/full.log" 2>&1 && fail "registration on a full disk succeeded: $(cat "$work/full.log")"
  p bob contacts add carol > "$work/full_contact.log" 2>&1 || true
  echo "full disk, client: $(grep -v '^Server certificate\|^Profile' "$work/full.log" | head -2 | tr '\n' ' ')"
  echo "full disk, operator: $(grep -i 'full\|space' "$server_log" | head -1)"
  grep -qi "full\|space" "$work/full.log" || fail "the client's error on a full disk does not say so: $(cat "$work/full.log")"
  grep -q "The store failed to .* is full" "$server_log" ||
    fail "the operator's log does not say the disk is full: $(tail -5 "$server_log")"
  rm -f "$work/data/filler"
  [[ $(snapshot) == "$before" ]] || fail "stored rows changed on a full disk"
  rm -rf "$work/carol"
  p carol init --server "$ws" --name carol > "$work/full_after.log" 2>&1 || fail "registration after space returned: $(cat "$work/full_after.log")"
  kill -0 "$server_pid" || fail "parleyd died on a full disk"
  before=$(snapshot)
  echo "ok: full disk: clear errors, nothing lost, recovered when space returned"
else
  echo "SKIP: full disk (needs root to mount a small tmpfs)"
fi

# 2. Another process holds an exclusive lock for 8 s (parleyd waits 5 s for a lock).
python3 - "$db" "$work/locked" <<'PY' &
import sqlite3, sys, time, pathlib
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
pathlib.Path(sys.argv[2]).touch()
time.sleep(8)
c.execute("ROLLBACK")
PY
locker=$!; pids+=("$locker")
for ((i = 0; i < 50; i++)); do [[ -e "$work/locked" ]] && break; sleep 0.1; done
[[ -e "$work/locked" ]] || fail "the locking process did not take its lock"
p dave init --server "$ws" --name dave > "$work/locked.log" 2>&1 && fail "registration under a held lock succeeded: $(cat "$work/locked.log")"
echo "locked, client: $(grep -v '^Server certificate\|^Profile' "$work/locked.log" | head -2 | tr '\n' ' ')"
echo "locked, operator: $(grep -i 'locked' "$server_log" | head -1)"
grep -qi "locked\|busy\|try again" "$work/locked.log" || fail "the client's error under a lock does not say so: $(cat "$work/locked.log")"
grep -q "The store failed to .* is locked" "$server_log" ||
  fail "the operator's log does not say the database is locked: $(tail -5 "$server_log")"
wait "$locker"
[[ $(snapshot) == "$before" ]] || fail "stored rows changed under a lock"
rm -rf "$work/dave"
p dave init --server "$ws" --name dave > "$work/locked_after.log" 2>&1 || fail "registration after the lock went: $(cat "$work/locked_after.log")"
echo "ok: locked database: clear errors, nothing lost, recovered when the lock went"
