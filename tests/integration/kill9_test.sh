#!/usr/bin/env bash
# Durability under kill -9 (issue #7): parleyd is killed with SIGKILL at random moments
# while clients register accounts, add contacts and leave call-log entries (calls to an
# offline user); after every restart the store opens, passes SQLite's integrity check
# and holds every write the server acknowledged (the client printed its success line).
# Usage: kill9_test.sh BUILD_DIR [ROUNDS]   (ROUNDS defaults to $KILL9_ROUNDS or 100)
set -euo pipefail
build=$(cd "${1:?usage: kill9_test.sh BUILD_DIR [ROUNDS]}" && pwd)
rounds=${2:-${KILL9_ROUNDS:-100}}
test_name=kill9_test
source "$(dirname "$0")/lib.sh"
parley_timeout=15

db="$work/data/parley.db"
acked="$work/acknowledged"
: > "$acked"

start_server
p alice init --server "$ws" --name alice > "$work/init_alice.log" 2>&1 || fail "alice: $(cat "$work/init_alice.log")"
p dave init --server "$ws" --name dave > "$work/init_dave.log" 2>&1 || fail "dave: $(cat "$work/init_dave.log")"

# One round's writes, in order, each recorded only once the server has acknowledged it;
# the first one the kill interrupts ends the round.
writer() {
  local who=$1 log="$work/writer_$1.log"
  add_contact() { p "$who" contacts add alice >> "$log" 2>&1 && grep -q "Added alice" "$log" && echo "contact $who" >> "$acked"; }
  call_offline() { { p "$who" call dave >> "$log" 2>&1 || true; } && grep -q "dave is not online" "$log" && echo "call $who" >> "$acked"; }
  p "$who" init --server "$ws" --name "$who" > "$log" 2>&1 && echo "account $who" >> "$acked" || return 0
  # Alternate the order so that both kinds of write meet kills at every stage.
  if (($2 % 2)); then add_contact && call_offline; else call_offline && add_contact; fi
}

# Checks every acknowledged write against the store (parleyd running; one read-only
# connection per round, so that the check stays cheap as the list grows).
verify() {
  python3 - "$db" "$acked" "$1" <<'PY' || fail "$(tail -1 "$work/verify.log")"
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
log = open(sys.argv[1].rsplit("/", 2)[0] + "/verify.log", "a")
def lost(what):
    print(f"round {sys.argv[3]}: acknowledged {what} is lost", file=log); log.flush(); sys.exit(1)
check = db.execute("PRAGMA integrity_check").fetchone()[0]
if check != "ok":
    print(f"round {sys.argv[3]}: integrity check: {check}", file=log); sys.exit(1)
for line in open(sys.argv[2]):
    kind, who = line.split()
    if kind == "account" and not db.execute("SELECT 1 FROM accounts WHERE name=?", (who,)).fetchone():
        lost(f"account {who}")
    if kind == "contact" and not db.execute(
            "SELECT 1 FROM contacts c JOIN accounts o ON o.id=c.owner_id JOIN accounts t ON t.id=c.contact_id "
            "WHERE o.name=? AND t.name='alice'", (who,)).fetchone():
        lost(f"contact {who} -> alice")
    if kind == "call" and not db.execute("SELECT 1 FROM call_log WHERE caller=? AND callee='dave'", (who,)).fetchone():
        lost(f"call-log entry {who} -> dave")
PY
}

began=$SECONDS
for ((round = 1; round <= rounds; round++)); do
  writer "user$round" "$round" &
  writer_pid=$!
  # A random moment within the round's writes (each takes a few hundred ms).
  delay_ms=$((RANDOM % 1400 + 20))
  sleep "$((delay_ms / 1000)).$(printf %03d $((delay_ms % 1000)))"
  kill -9 "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  wait "$writer_pid" 2>/dev/null || true
  restart_server  # waits for "parleyd: ready": the store opened
  verify "$round"
done
accounts=$(grep -c '^account' "$acked" || true)
contacts=$(grep -c '^contact' "$acked" || true)
calls=$(grep -c '^call' "$acked" || true)
[[ $accounts -gt 0 ]] || fail "no round got a write acknowledged before its kill; the kill timing is off"
((rounds < 20 || (contacts > 0 && calls > 0))) || fail "no contact or call-log write was acknowledged before a kill; the kill timing is off"
[[ $accounts -lt $rounds ]] || echo "note: every round's account was acknowledged before the kill"
echo "ok: $rounds kill -9 rounds in $((SECONDS - began)) s; the store opened every time and holds all acknowledged writes ($accounts accounts, $contacts contacts, $calls call-log entries)"
