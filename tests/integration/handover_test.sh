#!/usr/bin/env bash
# Process-level test of network handover on 127.0.0.1 (real parleyd, two parley): alice
# calls bob; 3 s in, alice's UDP socket is replaced by a fresh one on a new port
# (--rebind-after, as after a network change), so the relay sees her at a new source.
# The call must go on without re-ringing: alice rebinds with her ticket, the relay moves
# her, and audio resumes both ways (the recordings after the rebind correlate with what
# was sent); same fingerprint, still relay-udp, no new call. Prints the time to audio.
# Usage: handover_test.sh BUILD_DIR TESTDATA_DIR
set -euo pipefail
build=$(cd "${1:?usage: handover_test.sh BUILD_DIR TESTDATA_DIR}" && pwd)
testdata=${2:?usage: handover_test.sh BUILD_DIR TESTDATA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
test_name=handover_test
source "$(dirname "$0")/lib.sh"

start_server
for who in alice bob; do p "$who" init --server "$ws" --name "$who" > "$work/init_$who.log"; done

rebind_s=3
p bob listen --auto-answer --once --in "$testdata/speech_fa.wav" --out "$work/bob.wav" --stats "$work/bob.jsonl" \
  > "$work/bob.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob.log" "Waiting for calls"
p alice call bob --in "$testdata/speech_en_male.wav" --out "$work/alice.wav" --max-duration 8.5 \
  --rebind-after "$rebind_s" --stats "$work/alice.jsonl" > "$work/alice.log" 2>&1 \
  || fail "alice's call exited $?: $(cat "$work/alice.log")"
wait "$bob_pid" || fail "bob exited $?: $(cat "$work/bob.log")"

# The switch happened, to another port, and the call went on (no second call, no ring).
grep -q "The network changed; media continues from local port" "$work/alice.log" \
  || fail "alice did not switch sockets: $(cat "$work/alice.log")"
grep -q "^Reconnected after" "$work/alice.log" || fail "alice never heard bob again: $(cat "$work/alice.log")"
[[ $(grep -c "^Connected to" "$work/alice.log") == 1 && $(grep -c "^Incoming call" "$work/bob.log") == 1 ]] \
  || fail "the call was set up more than once"
fa=$(grep '^fingerprint:' "$work/alice.log"); fb=$(grep '^fingerprint:' "$work/bob.log")
[[ -n "$fa" && "$fa" == "$fb" ]] || fail "fingerprints differ: '$fa' vs '$fb'"
last_path=$(tail -1 "$work/alice.jsonl" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["path"])')
[[ "$last_path" == relay-udp ]] || fail "alice ended on '$last_path', not relay-udp: $(tail -1 "$work/alice.jsonl")"

# Audio after the rebind: 4 s of what each side sent from 0.5 s after it must be in the
# other's recording.
skip=$(python3 -c "print($rebind_s + 0.5)")
c_ab=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/bob.wav" 4 "$skip")
c_ba=$("$here/correlate.py" "$testdata/speech_fa.wav" "$work/alice.wav" 4 "$skip")
python3 -c "import sys; sys.exit(0 if min(map(float, sys.argv[1:])) > 0.6 else 1)" "$c_ab" "$c_ba" \
  || fail "recordings after the rebind do not correlate (alice->bob $c_ab, bob->alice $c_ba)"

# Time to audio: alice's own measure (the rebind -> the first packet from bob again).
gap=$(sed -n 's/^Reconnected after \([0-9]*\) ms without audio\./\1/p' "$work/alice.log" | head -1)
port_line=$(grep "media continues from local port" "$work/alice.log" | sed "s/\.$//")
echo "ok: ${port_line}; audio back at alice ${gap} ms after the switch;" \
  "correlation after it alice->bob $c_ab, bob->alice $c_ba"
echo "PASS"
