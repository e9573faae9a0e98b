#!/usr/bin/env bash
# Process-level test of media over TLS reaching the call's relay when relays run apart
# (issue #8; docs/protocol.md, "Media over TLS"), on 127.0.0.1: parleyd plus a separate
# `parleyd --role relay` sharing the ticket key. The call's first relay is the
# standalone one; alice uses relay over TLS only (the web front bridges her to the relay
# her target names), bob relay UDP only. The node's own relay is told to clients at a
# closed UDP port, so bob's audio can only flow through the standalone relay: audio
# both ways (correlate.py) proves that the front bridged alice there. Twice: (a) the
# standalone relay known from relay.first (no bus); (b) known only as a live relay on a
# Redis bus the test starts (the node gives it first by the chooser's tie-break).
# Usage: tls_relay_apart_test.sh BUILD_DIR TESTDATA_DIR
set -euo pipefail
build=$(cd "${1:?usage: tls_relay_apart_test.sh BUILD_DIR TESTDATA_DIR}" && pwd)
testdata=${2:?usage: tls_relay_apart_test.sh BUILD_DIR TESTDATA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
test_name=tls_relay_apart_test
source "$(dirname "$0")/lib.sh"

head -c 32 /dev/urandom | base64 > "$work/ticket.key"
closed_port=$(free_port SOCK_DGRAM)  # the node's own relay as clients are told it: nothing there

# start_relay NAME [ARGS...]: a standalone relay on a free UDP port; sets relay_port.
start_relay() {
  local name=$1; shift
  relay_port=$(free_port SOCK_DGRAM)
  "$parleyd" --role relay --data "$work/${name}_data" --host 127.0.0.1 --udp-port "$relay_port" \
    --server-name 127.0.0.1 --allow-loopback --set relay.ticket_key_file="$work/ticket.key" \
    --set relay.id="$name" --log-level warn "$@" > "$work/$name.log" 2>&1 &
  pids+=($!)
  wait_for "$work/$name.log" "parleyd: relay ready"
}

# call NAME: alice (TLS only) calls bob (UDP only) for 6 s, speech both ways; the
# recordings' first 5 s must correlate with what the other side sent.
call() {
  local name=$1
  p bob listen --auto-answer --once --transport udp --in "$testdata/speech_fa.wav" --out "$work/bob_$name.wav" \
    --stats "$work/bob_$name.jsonl" > "$work/bob_$name.log" 2>&1 &
  local bob_pid=$!; pids+=("$bob_pid")
  wait_for "$work/bob_$name.log" "Waiting for calls"
  p alice call bob --transport tls --in "$testdata/speech_en_male.wav" --out "$work/alice_$name.wav" \
    --max-duration 6 --stats "$work/alice_$name.jsonl" > "$work/alice_$name.log" 2>&1 \
    || fail "$name: alice's call exited $?: $(cat "$work/alice_$name.log")"
  wait "$bob_pid" || fail "$name: bob exited $?: $(cat "$work/bob_$name.log")"
  local fa fb
  fa=$(grep '^fingerprint:' "$work/alice_$name.log"); fb=$(grep '^fingerprint:' "$work/bob_$name.log")
  [[ -n "$fa" && "$fa" == "$fb" ]] || fail "$name: fingerprints differ: '$fa' vs '$fb'"
  last_path() { tail -1 "$1" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["path"])'; }
  [[ $(last_path "$work/alice_$name.jsonl") == relay-tls ]] || fail "$name: alice's path: $(tail -1 "$work/alice_$name.jsonl")"
  [[ $(last_path "$work/bob_$name.jsonl") == relay-udp ]] || fail "$name: bob's path: $(tail -1 "$work/bob_$name.jsonl")"
  ! grep -q "media moves to the relay" "$work/bob_$name.log" || fail "$name: bob left the first relay: $(cat "$work/bob_$name.log")"
  c_ab=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/bob_$name.wav" 5)
  c_ba=$("$here/correlate.py" "$testdata/speech_fa.wav" "$work/alice_$name.wav" 5)
  python3 -c "import sys; sys.exit(0 if min(map(float, sys.argv[1:])) > 0.5 else 1)" "$c_ab" "$c_ba" \
    || fail "$name: recordings do not correlate (alice->bob $c_ab, bob->alice $c_ba)"
}

# (a) The standalone relay from the configuration (relay.first).
start_relay relay-a
start_server --set relay.ticket_key_file="$work/ticket.key" --set relay.first="127.0.0.1:$relay_port" \
  --set relay.public_port="$closed_port"
for who in alice bob; do p "$who" init --server "$ws" --name "$who" > "$work/init_$who.log"; done
call configured
echo "ok: relay.first standalone: TLS (alice) and UDP (bob) met there; correlation alice->bob $c_ab, bob->alice $c_ba"

# (b) The standalone relay known only from the bus. The chooser breaks ties by id:
# "relay-b" sorts before the node's "zz-node", so the standalone relay comes first.
redis_port=$(free_port SOCK_STREAM)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$work/redis.log" 2>&1 &
pids+=($!)
wait_for "$work/redis.log" "Ready to accept connections"
bus="redis://127.0.0.1:$redis_port/tlsapart"
start_relay relay-b --set bus="$bus"
start_server --set relay.ticket_key_file="$work/ticket.key" --set bus="$bus" --set node.id=zz-node \
  --set relay.public_port="$closed_port"
call bus
echo "ok: live standalone relay on the bus: TLS (alice) and UDP (bob) met there;" \
  "correlation alice->bob $c_ab, bob->alice $c_ba"
echo "PASS"
