#!/usr/bin/env bash
# Process-level test of relay failover on 127.0.0.1 (issue #7, "Faults"; issue #8,
# "relays apart"): parleyd plus a separate `parleyd --role relay`, both holding one
# ticket key from relay.ticket_key_file; the node gives calls the standalone relay first
# (relay.first) and its own relay second. Alice calls bob over relay UDP only (no P2P,
# no TLS); 3 s in, the standalone relay is killed with kill -9. Both clients must move
# to the node's relay with the same ticket: audio back within 3 s on both sides (their
# own "Reconnected after N ms without audio"), the recordings after it correlate with
# what was sent, the same fingerprint, one call (bob rang once). Prints the gaps.
# Usage: relay_failover_test.sh BUILD_DIR TESTDATA_DIR
set -euo pipefail
build=$(cd "${1:?usage: relay_failover_test.sh BUILD_DIR TESTDATA_DIR}" && pwd)
testdata=${2:?usage: relay_failover_test.sh BUILD_DIR TESTDATA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
test_name=relay_failover_test
source "$(dirname "$0")/lib.sh"

# The community's ticket key, as an operator makes it.
head -c 32 /dev/urandom | base64 > "$work/ticket.key"
relay_port=$(free_port SOCK_DGRAM)
"$parleyd" --role relay --data "$work/relay_data" --host 127.0.0.1 --udp-port "$relay_port" --server-name 127.0.0.1 \
  --allow-loopback --set relay.ticket_key_file="$work/ticket.key" --set relay.id=relay-a --log-level warn \
  > "$work/relay.log" 2>&1 &
relay_pid=$!; pids+=("$relay_pid")
disown "$relay_pid"  # its kill -9 below is the test, not news for the log
wait_for "$work/relay.log" "parleyd: relay ready"
grep -q "relay: udp 127.0.0.1:$relay_port" "$work/relay.log" || fail "the relay is not on its port: $(cat "$work/relay.log")"

start_server --set relay.ticket_key_file="$work/ticket.key" --set relay.first="127.0.0.1:$relay_port"
grep -q "clients are told 127.0.0.1:$relay_port" "$server_log" || fail "the node does not give the relay first: $(cat "$server_log")"
for who in alice bob; do p "$who" init --server "$ws" --name "$who" > "$work/init_$who.log"; done

kill_at_s=3
p bob listen --auto-answer --once --transport udp --in "$testdata/speech_fa.wav" --out "$work/bob.wav" \
  --stats "$work/bob.jsonl" > "$work/bob.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob.log" "Waiting for calls"
p alice call bob --transport udp --in "$testdata/speech_en_male.wav" --out "$work/alice.wav" --max-duration 10 \
  --stats "$work/alice.jsonl" > "$work/alice.log" 2>&1 &
alice_pid=$!; pids+=("$alice_pid")
wait_for "$work/alice.log" "^Connected to" 20
sleep "$kill_at_s"
kill -9 "$relay_pid"
wait "$alice_pid" || fail "alice's call exited $?: $(cat "$work/alice.log")"
wait "$bob_pid" || fail "bob exited $?: $(cat "$work/bob.log")"

for who in alice bob; do
  grep -q "does not answer; media moves to the relay 127.0.0.1:$port" "$work/$who.log" \
    || fail "$who did not move to the node's relay: $(cat "$work/$who.log")"
  grep -q "^reconnecting |" "$work/$who.log" || fail "$who's status line never said reconnecting: $(cat "$work/$who.log")"
  grep -q "^Reconnected after" "$work/$who.log" || fail "$who never heard the other again: $(cat "$work/$who.log")"
  tail -1 "$work/$who.jsonl" | grep -q '"state":"connected"' || fail "$who did not end connected: $(tail -1 "$work/$who.jsonl")"
done
[[ $(grep -c "^Connected to" "$work/alice.log") == 1 && $(grep -c "^Incoming call" "$work/bob.log") == 1 ]] \
  || fail "the call was set up more than once (bob rang again?)"
fa=$(grep '^fingerprint:' "$work/alice.log"); fb=$(grep '^fingerprint:' "$work/bob.log")
[[ -n "$fa" && "$fa" == "$fb" ]] || fail "fingerprints differ: '$fa' vs '$fb'"

gap_a=$(sed -n 's/^Reconnected after \([0-9]*\) ms without audio\./\1/p' "$work/alice.log" | head -1)
gap_b=$(sed -n 's/^Reconnected after \([0-9]*\) ms without audio\./\1/p' "$work/bob.log" | head -1)
((gap_a < 3000 && gap_b < 3000)) || fail "audio came back after ${gap_a} ms at alice and ${gap_b} ms at bob (limit 3000)"

# The audio after the move is what was sent: from 3.5 s after the kill (the call's
# own clock started a little before the kill's 3 s).
after=$(python3 -c "print($kill_at_s + 3.5)")
n_a=$(received_since "$work/alice.jsonl" "$after"); n_b=$(received_since "$work/bob.jsonl" "$after")
# At least 1.5 s of 60 ms packets (the controller may pick 60 ms after the outage's
# loss; at 20 ms it is ~170): media flowed again, not a stray packet or two.
((n_a > 25 && n_b > 25)) || fail "media did not resume after the kill: alice got $n_a packets, bob $n_b"
c_ab=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/bob.wav" 3 "$after")
c_ba=$("$here/correlate.py" "$testdata/speech_fa.wav" "$work/alice.wav" 3 "$after")
python3 -c "import sys; sys.exit(0 if min(map(float, sys.argv[1:])) > 0.5 else 1)" "$c_ab" "$c_ba" \
  || fail "recordings after the move do not correlate (alice->bob $c_ab, bob->alice $c_ba)"
echo "ok: relay killed ${kill_at_s} s into the call; audio back after ${gap_a} ms at alice and ${gap_b} ms at bob" \
  "(outage included) at the node's relay; same fingerprint, one ring; correlation after it alice->bob $c_ab," \
  "bob->alice $c_ba"
echo "PASS"
