#!/usr/bin/env bash
# Process-level test of network handover on 127.0.0.1 (real parleyd, two parley): alice
# calls bob; 3 s in, alice's UDP socket is replaced by a fresh one on a new port
# (--rebind-after, as after a network change), so the relay sees her at a new source.
# The call must go on without re-ringing: alice rebinds with her ticket, the relay moves
# her, and audio resumes both ways (the recordings after the rebind correlate with what
# was sent); same fingerprint, still relay-udp, no new call. Then a second call where
# every path of alice's is silent both ways for 3 s (--blackout-after/--blackout-for):
# both status lines say "reconnecting", and audio comes back both ways after it, and the
# stats file's quality estimate says nothing was heard meanwhile. Asserts the time to
# audio against issue #6's 2 s target and prints it.
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

# audio_resumed NAME T: both sides received media after T, and 4 s (alice's speech) and
# 3.4 s (bob's) of what each sent from T on is in the other's recording. 0.5, not the
# 0.6 of whole calls: these windows are short, and on a loaded 2-core machine the
# first second after a move can be uneven.
audio_resumed() {
  local name=$1 t=$2 n_a n_b
  n_a=$(received_since "$work/alice$name.jsonl" "$t"); n_b=$(received_since "$work/bob$name.jsonl" "$t")
  ((n_a > 50 && n_b > 50)) || fail "media did not resume after ${t} s: alice got $n_a packets, bob $n_b"
  c_ab=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/bob$name.wav" 4 "$t")
  c_ba=$("$here/correlate.py" "$testdata/speech_fa.wav" "$work/alice$name.wav" 3.4 "$t")
  python3 -c "import sys; sys.exit(0 if min(map(float, sys.argv[1:])) > 0.5 else 1)" "$c_ab" "$c_ba" \
    || fail "recordings after ${t} s do not correlate (alice->bob $c_ab, bob->alice $c_ba)"
}

# Audio after the rebind, from 0.5 s after it.
skip=$(python3 -c "print($rebind_s + 0.5)")
audio_resumed "" "$skip"

# Time to audio: alice's own measure (the rebind -> the first packet from bob again).
gap=$(sed -n 's/^Reconnected after \([0-9]*\) ms without audio\./\1/p' "$work/alice.log" | head -1)
port_line=$(grep "media continues from local port" "$work/alice.log" | sed "s/\.$//")
# Issue #6: audio back within 2 s of the new network being usable (here: at once).
((gap < 2000)) || fail "audio came back at alice ${gap} ms after the switch, not within 2 s"
echo "ok: ${port_line}; audio back at alice ${gap} ms after the switch;" \
  "correlation after it alice->bob $c_ab, bob->alice $c_ba"

# (2) An outage: nothing in or out on any of alice's paths from 2 s to 5 s. Relay UDP
# only: under auto, an outage this long on one's own side also brings in relay-TLS
# (its rebind goes unanswered for 1.5 s), which the censor lab's relay-dies covers.
p bob listen --auto-answer --once --transport udp --in "$testdata/speech_fa.wav" --out "$work/bob2.wav" --stats "$work/bob2.jsonl" \
  > "$work/bob2.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob2.log" "Waiting for calls"
p alice call bob --transport udp --in "$testdata/speech_en_male.wav" --out "$work/alice2.wav" --max-duration 10 \
  --blackout-after 2 --blackout-for 3 --stats "$work/alice2.jsonl" > "$work/alice2.log" 2>&1 \
  || fail "alice's second call exited $?: $(cat "$work/alice2.log")"
wait "$bob_pid" || fail "bob's second call exited $?: $(cat "$work/bob2.log")"
for who in alice bob; do
  grep -q "^reconnecting |" "$work/${who}2.log" || fail "$who's status line never said reconnecting: $(cat "$work/${who}2.log")"
  grep -q "^Reconnected after" "$work/${who}2.log" || fail "$who never heard the other again: $(cat "$work/${who}2.log")"
  tail -1 "$work/${who}2.jsonl" | grep -q '"state":"connected"' || fail "$who did not end connected: $(tail -1 "$work/${who}2.jsonl")"
done
grep -q "media continues from local port" "$work/bob2.log" && fail "bob took a fresh socket though his network was fine"
audio_resumed 2 5.5
gap_a=$(sed -n 's/^Reconnected after \([0-9]*\) ms without audio\./\1/p' "$work/alice2.log" | head -1)
gap_b=$(sed -n 's/^Reconnected after \([0-9]*\) ms without audio\./\1/p' "$work/bob2.log" | head -1)
# Both measure from the last audio they heard, so the 3 s outage is included.
((gap_a < 5000 && gap_b < 5000)) || fail "audio came back ${gap_a} ms (alice) and ${gap_b} ms (bob) after it stopped: over 2 s after a 3 s outage"
# The stats file carries the E-model estimate and the audio glitch counters every
# second: good before the outage, nothing heard in it (2.5 s after the last packet) or
# the outage's frames concealed right after it, good again at the end.
python3 - "$work/alice2.jsonl" <<'PY' || fail "alice's stats file does not show the outage in its quality estimate: $(cat "$work/alice2.jsonl")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mos = [(l["t"], l["mos"]) for l in lines if l.get("mos") is not None]
assert all(isinstance(l["audio"]["glitches"], int) for l in lines), "no audio glitch counters"
assert any(t <= 2.1 and m > 3 for t, m in mos), mos
assert any(4 <= t <= 6.5 and m < 2 for t, m in mos), mos
assert mos[-1][1] > 3, mos
PY
echo "ok: 3 s outage: both said reconnecting; audio back after ${gap_a} ms at alice and ${gap_b} ms at bob" \
  "(outage included); correlation after it alice->bob $c_ab, bob->alice $c_ba"
echo "PASS"
