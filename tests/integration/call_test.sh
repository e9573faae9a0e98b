#!/usr/bin/env bash
# Process-level call tests on 127.0.0.1: a real parleyd and parley processes.
# A call carries audio both ways with equal fingerprints; decline, busy, cancel, ring
# timeout, callee offline then missed call, blocked caller, deleted account, and a
# parleyd restart that keeps accounts, contacts and the call log.
# Usage: call_test.sh BUILD_DIR TESTDATA_DIR
set -euo pipefail
build=$(cd "${1:?usage: call_test.sh BUILD_DIR TESTDATA_DIR}" && pwd)
testdata=${2:?usage: call_test.sh BUILD_DIR TESTDATA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
test_name=call_test
source "$(dirname "$0")/lib.sh"
parley_timeout=30

# Unanswered calls end after 3 s, so that the ring timeout is quick to test.
start_server --set signaling.ring_timeout_s=3
for who in alice bob carol dave; do p "$who" init --server "$ws" --name "$who" > "$work/init_$who.log"; done
echo "ok: four accounts registered"

# 1. A call carries audio both ways; fingerprints match.
p bob listen --auto-answer --once --in "$testdata/speech_fa.wav" --out "$work/bob_rec.wav" > "$work/bob1.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob1.log" "Waiting for calls"
p alice call bob --in "$testdata/speech_en_male.wav" --out "$work/alice_rec.wav" --max-duration 5 \
  --stats "$work/alice_stats.jsonl" > "$work/alice1.log" 2>&1 || fail "alice's call exited $?: $(cat "$work/alice1.log")"
wait "$bob_pid" || fail "bob exited $?: $(cat "$work/bob1.log")"
fa=$(grep '^fingerprint:' "$work/alice1.log"); fb=$(grep '^fingerprint:' "$work/bob1.log")
[[ -n "$fa" && "$fa" == "$fb" ]] || fail "fingerprints differ: '$fa' vs '$fb'"
[[ $(wc -l < "$work/alice_stats.jsonl") -ge 3 ]] || fail "too few stats lines"
c_ab=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/bob_rec.wav")
c_ba=$("$here/correlate.py" "$testdata/speech_fa.wav" "$work/alice_rec.wav")
c_wrong=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/alice_rec.wav")
echo "ok: call both ways, fingerprint $fa; correlation alice->bob $c_ab, bob->alice $c_ba, unrelated $c_wrong"
python3 -c "import sys; a,b,w=map(float,sys.argv[1:]); sys.exit(0 if a>0.6 and b>0.6 and w<min(a,b) else 1)" \
  "$c_ab" "$c_ba" "$c_wrong" || fail "recordings do not correlate with the far end's input"

# 2. Decline.
mkfifo "$work/bob_in"; exec 3<>"$work/bob_in"
p bob listen --once < "$work/bob_in" > "$work/bob2.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob2.log" "Waiting for calls"
p alice call bob > "$work/alice2.log" 2>&1 &
alice_pid=$!; pids+=("$alice_pid")
wait_for "$work/bob2.log" "Incoming call from alice"
echo d >&3
wait "$alice_pid" && fail "a declined call exited 0"
grep -q "bob declined the call." "$work/alice2.log" || fail "decline: $(cat "$work/alice2.log")"
wait "$bob_pid" || true
echo "ok: decline"

# 3. Busy: carol calls bob while alice and bob talk.
restart_server
p bob listen --auto-answer --once --in "$testdata/speech_fa.wav" --out /dev/null > "$work/bob3.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob3.log" "Waiting for calls"
p alice call bob --in "$testdata/speech_en_male.wav" --out /dev/null --max-duration 3 > "$work/alice3.log" 2>&1 &
alice_pid=$!; pids+=("$alice_pid")
wait_for "$work/alice3.log" "Connected to bob"
p carol call bob > "$work/carol3.log" 2>&1 && fail "a busy call exited 0"
grep -q "bob is busy in another call" "$work/carol3.log" || fail "busy: $(cat "$work/carol3.log")"
wait "$alice_pid" || fail "alice's call during busy exited $?"
wait "$bob_pid" || true
echo "ok: busy"

# 4. Cancel (the caller hangs up while it rings) and 5. ring timeout.
exec 4<>"$work/bob_in"
p bob listen --once < "$work/bob_in" > "$work/bob4.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob4.log" "Waiting for calls"
mkfifo "$work/alice_in"; exec 5<>"$work/alice_in"
p alice call bob < "$work/alice_in" > "$work/alice4.log" 2>&1 &
alice_pid=$!; pids+=("$alice_pid")
wait_for "$work/alice4.log" "Ringing bob"
echo q >&5
wait "$alice_pid" && fail "a cancelled call exited 0"
grep -q "You cancelled the call to bob." "$work/alice4.log" || fail "cancel: $(cat "$work/alice4.log")"
wait "$bob_pid" || true
grep -q "alice cancelled the call." "$work/bob4.log" || fail "cancel on bob: $(cat "$work/bob4.log")"
echo "ok: cancel"
p bob listen --once < "$work/bob_in" > "$work/bob5.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob5.log" "Waiting for calls"
p alice call bob > "$work/alice5.log" 2>&1 && fail "an unanswered call exited 0"
grep -q "The call with bob was not answered in time." "$work/alice5.log" || fail "timeout: $(cat "$work/alice5.log")"
wait "$bob_pid" || true
echo "ok: ring timeout"

# 6. Callee offline, then the missed call at its next connection.
restart_server
p alice call dave > "$work/alice6.log" 2>&1 && fail "a call to an offline user exited 0"
grep -q "dave is not online right now." "$work/alice6.log" || fail "offline: $(cat "$work/alice6.log")"
p dave history > "$work/dave6.log" 2>&1 || fail "dave history: $(cat "$work/dave6.log")"
grep -q "Missed call from alice" "$work/dave6.log" || fail "missed call not shown: $(cat "$work/dave6.log")"
echo "ok: offline and missed call"

# 7. Blocked caller gets the same sentence as for a missing user.
p bob block carol > /dev/null || fail "block"
p carol call bob > "$work/carol7.log" 2>&1 && fail "a blocked call exited 0"
grep -q "bob cannot be called" "$work/carol7.log" || fail "blocked: $(cat "$work/carol7.log")"
p carol call nosuchuser > "$work/carol7b.log" 2>&1 || true
[[ "$(sed 's/nosuchuser/X/' "$work/carol7b.log" | tail -1)" == "$(sed 's/bob/X/' "$work/carol7.log" | tail -1)" ]] \
  || fail "blocked and missing differ"
echo "ok: blocked caller"

# 8. Deleted account.
p dave delete-account --yes > /dev/null || fail "delete-account"
p alice call dave > "$work/alice8.log" 2>&1 && fail "a call to a deleted account exited 0"
grep -q "dave cannot be called" "$work/alice8.log" || fail "deleted: $(cat "$work/alice8.log")"
p dave history > "$work/dave8.log" 2>&1 && fail "a deleted account could log in"
grep -q "no longer exists" "$work/dave8.log" || fail "deleted login: $(cat "$work/dave8.log")"
echo "ok: deleted account"

# 9. A restart of parleyd keeps accounts, contacts and the call log.
restart_server
p alice contacts add bob > /dev/null || fail "contacts add"
restart_server
p alice contacts list > "$work/alice9.log" || fail "contacts after restart"
grep -qx "bob" "$work/alice9.log" || fail "contact lost: $(cat "$work/alice9.log")"
p alice history > "$work/alice9h.log" || fail "history after restart"
grep -q "to   bob" "$work/alice9h.log" || fail "history lost: $(cat "$work/alice9h.log")"
grep -q "answered" "$work/alice9h.log" || fail "no answered call in history"
echo "ok: restart keeps accounts, contacts and history"
echo "PASS"
