#!/usr/bin/env bash
# Process-level test of a parleyd restart mid-call on 127.0.0.1 (issue #7, "parleyd
# restarted mid-call"; issue #8, "a node that dies"): alice calls bob with P2P off, so
# media goes through parleyd's own relay. 3 s in, parleyd is killed with SIGKILL and
# restarted on the same ports and data directory. Asserts: audio comes back on both
# sides within 3 s of the restart (the clients rebind at the restarted relay with the
# same ticket: the ticket key is in the data directory); both clients log in again by
# themselves (backoff, no user action); the call is not set up again (one "Connected",
# one "Incoming", same fingerprint); alice then hangs up and bob ends within 2 s though
# the new parleyd never knew the call (the media path's bye). Then a client whose
# profile lists a server that is down first and the live one second registers and logs
# in on the second. Prints the measured gaps.
# Usage: restart_test.sh BUILD_DIR TESTDATA_DIR
set -euo pipefail
build=$(cd "${1:?usage: restart_test.sh BUILD_DIR TESTDATA_DIR}" && pwd)
testdata=${2:?usage: restart_test.sh BUILD_DIR TESTDATA_DIR}
test_name=restart_test
source "$(dirname "$0")/lib.sh"

start_server  # --port: the relay's UDP port is the same number, so a restart keeps both
for who in alice bob; do
  p "$who" init --server "$ws" --name "$who" > "$work/init_$who.log"
  p "$who" settings --p2p nobody > /dev/null
done

now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }
# first_line_ms FILE PATTERN DEADLINE_S: wall-clock ms when PATTERN first shows up in FILE
# (polled every 50 ms), or fail after DEADLINE_S.
first_line_ms() {
  local deadline=$((SECONDS + $3))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "no '$2' in $1 within $3 s: $(cat "$1")"
    sleep 0.05
  done
  now_ms
}

p bob listen --auto-answer --once --transport udp --in "$testdata/speech_fa.wav" --out "$work/bob.wav" \
  --stats "$work/bob.jsonl" > "$work/bob.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob.log" "Waiting for calls"
parley_timeout=60
p alice call bob --transport udp --in "$testdata/speech_en_male.wav" --out "$work/alice.wav" --max-duration 14 \
  --stats "$work/alice.jsonl" > "$work/alice.log" 2>&1 &
alice_pid=$!; pids+=("$alice_pid")
wait_for "$work/alice.log" "^Connected to" 15
wait_for "$work/bob.log" "^Connected to" 5
sleep 3

# SIGKILL: no goodbye to anyone; the relay dies with it.
kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
killed_ms=$(now_ms)
sleep 1
restart_server
restarted_ms=$(now_ms)

# Audio back: ConnectivityMonitor prints "Reconnected after N ms without audio." at the
# first packet from the peer after the outage.
alice_back_ms=$(first_line_ms "$work/alice.log" "^Reconnected after" 3)
bob_back_ms=$(first_line_ms "$work/bob.log" "^Reconnected after" 3)
alice_gap=$(sed -n 's/^Reconnected after \([0-9]*\) ms without audio\./\1/p' "$work/alice.log" | head -1)
bob_gap=$(sed -n 's/^Reconnected after \([0-9]*\) ms without audio\./\1/p' "$work/bob.log" | head -1)
# Signaling back by itself, with backoff (0.5, 1, 2, 4 s ... after the loss).
alice_login_ms=$(first_line_ms "$work/alice.log" "^Logged in again on" 12)
bob_login_ms=$(first_line_ms "$work/bob.log" "^Logged in again on" 12)
for who in alice bob; do
  grep -q "^Signaling lost" "$work/$who.log" || fail "$who did not notice signaling was lost: $(cat "$work/$who.log")"
  grep -q '"signaling":"reconnecting"' "$work/$who.jsonl" || fail "$who's status never said signaling was reconnecting"
done

# Alice hangs up at 14 s of call (--max-duration); the restarted parleyd does not know
# the call, so bob must end from the bye on the media path, within 2 s.
hangup_ms=$(first_line_ms "$work/alice.log" "^You hung up" 20)
bob_end_ms=$(first_line_ms "$work/bob.log" "hung up" 4)
((bob_end_ms - hangup_ms <= 2000)) || fail "bob ended $((bob_end_ms - hangup_ms)) ms after alice hung up"
wait "$alice_pid" || fail "alice exited $?: $(cat "$work/alice.log")"
wait "$bob_pid" || fail "bob exited $?: $(cat "$work/bob.log")"

[[ $(grep -c "^Connected to" "$work/alice.log") == 1 && $(grep -c "^Incoming call" "$work/bob.log") == 1 ]] \
  || fail "the call was set up more than once"
fa=$(grep '^fingerprint:' "$work/alice.log"); fb=$(grep '^fingerprint:' "$work/bob.log")
[[ -n "$fa" && "$fa" == "$fb" ]] || fail "fingerprints differ: '$fa' vs '$fb'"
# Media both ways after the restart (stats lines, one a second).
for who in alice bob; do
  python3 - "$work/$who.jsonl" <<'PY' || fail "$who received no media in the last seconds: $(tail -3 "$work/$who.jsonl")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
late = [l for l in lines if l["t"] >= lines[-1]["t"] - 3]
# 60 ms frames at the least (data-saving shape) are 16 a second: 2 s of them is 33.
sys.exit(0 if late[-1]["packets_received"] - late[0]["packets_received"] > 25 else 1)
PY
done

echo "ok: parleyd down $((restarted_ms - killed_ms)) ms (kill to ready);" \
  "audio gone ${alice_gap} ms at alice, ${bob_gap} ms at bob;" \
  "back $((alice_back_ms - restarted_ms)) ms / $((bob_back_ms - restarted_ms)) ms after the restart;" \
  "logged in again $((alice_login_ms - restarted_ms)) ms / $((bob_login_ms - restarted_ms)) ms after it;" \
  "bob ended $((bob_end_ms - hangup_ms)) ms after alice hung up"

# (2) Two servers in the profile, the first down: init registers on the second and
# every later command logs in there.
dead_port=$(free_port SOCK_STREAM)
ws_path="/${ws#wss://*/}"
p carol init --server "wss://127.0.0.1:$dead_port$ws_path" --server "$ws" --name carol > "$work/init_carol.log" 2>&1 \
  || fail "carol's init with the first server down failed: $(cat "$work/init_carol.log")"
grep -q "Registered carol" "$work/init_carol.log" || fail "carol was not registered: $(cat "$work/init_carol.log")"
p carol contacts list > "$work/carol.log" 2>&1 || fail "carol could not log in: $(cat "$work/carol.log")"
grep -q "^Logged in on 127.0.0.1:$port" "$work/carol.log" || fail "carol did not say where she logged in: $(cat "$work/carol.log")"
python3 - "$work/carol/client.json" "$dead_port" "$port" <<'PY' || fail "carol's profile is not as expected: $(cat "$work/carol/client.json")"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["server_port"] == int(sys.argv[2])
assert len(p["more_servers"]) == 1 and p["more_servers"][0]["server_port"] == int(sys.argv[3])
assert len(p["more_servers"][0]["pin_sha256"]) == 64
# The nodes of a community share a certificate: the server init could not reach takes
# the pin of the one it registered on, instead of trusting it on first use later.
assert p["pin_sha256"] == p["more_servers"][0]["pin_sha256"]
PY
echo "ok: with the first of two servers down, carol registered and logged in on the second"
echo "PASS"
