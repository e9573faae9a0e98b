#!/usr/bin/env bash
# Issue #8 as deployed: PostgreSQL and Redis started here from Debian's packages on
# 127.0.0.1, two signaling nodes on them (store = postgres://..., bus = redis://...) and two
# standalone relays (`parleyd --role relay`, one shared ticket key) that announce
# themselves on the bus; the nodes give calls only the announced relays (relay.offer_own =
# false). Alice (east) calls bob (west), relay UDP only:
#  1. audio both ways, the same fingerprint, media through one of the two relays;
#  2. bob's node killed (SIGKILL) 2 s into an 8 s call: the call runs its course, bob hears
#     alice after the kill;
#  3. (west restarted) the relay carrying the call killed 3 s in: both clients move to the
#     other relay with the same ticket, audio back within 3 s on both sides, the same
#     fingerprint, bob rang once. Prints the gaps.
# Usage: cluster_postgres_test.sh BUILD_DIR TESTDATA_DIR
set -euo pipefail
build=$(cd "${1:?usage: cluster_postgres_test.sh BUILD_DIR TESTDATA_DIR}" && pwd)
testdata=${2:?usage: cluster_postgres_test.sh BUILD_DIR TESTDATA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
test_name=cluster_postgres_test
source "$here/lib.sh"
source "$here/cluster_lib.sh"
parley_timeout=40

start_postgres
start_redis
echo "ok: PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port"
head -c 32 /dev/urandom | base64 > "$work/ticket.key"

# start_relay NAME: a standalone relay announcing itself as NAME; sets NAME_pid, NAME_port.
start_relay() {
  local name=$1 relay_port pid
  relay_port=$(free_port SOCK_DGRAM)
  "$parleyd" --role relay --data "$work/$name" --host 127.0.0.1 --udp-port "$relay_port" --server-name 127.0.0.1 \
    --allow-loopback --set bus="$bus_url" --set relay.ticket_key_file="$work/ticket.key" --set relay.id="$name" \
    --log-level warn > "$work/$name.log" 2>&1 &
  pid=$!; pids+=("$pid")
  disown "$pid"  # a kill -9 below is the test, not news for the log
  wait_for "$work/$name.log" "parleyd: relay ready"
  grep -q "bus: announcing" "$work/$name.log" || fail "relay $name does not announce on the bus: $(cat "$work/$name.log")"
  eval "${name//-/_}_pid=$pid; ${name//-/_}_port=$relay_port"
}
start_relay relay-a
start_relay relay-b
for _ in $(seq 50); do
  [[ $(announced_relays | sort | tr '\n' ' ') == "relay-a relay-b " ]] && break
  sleep 0.1
done
[[ $(announced_relays | sort | tr '\n' ' ') == "relay-a relay-b " ]] \
  || fail "the bus does not list both relays: $(announced_relays | tr '\n' ' ')"
echo "ok: relay-a (udp $relay_a_port) and relay-b (udp $relay_b_port) announced on the bus"

# start_node NAME [PORT]: a signaling node on PostgreSQL and the bus (a restart passes its
# old port); sets NAME_pid, NAME_port and NAME_ws. Its own relay is never offered.
start_node() {
  local name=$1 node_port=${2:-$(free_port SOCK_STREAM)} log
  log="$work/$name.$SECONDS.log"
  "$parleyd" --data "$work/$name" --host 127.0.0.1 --port "$node_port" --server-name 127.0.0.1 --allow-loopback \
    --set store="$pg_url" --set bus="$bus_url" --set node.id="$name" --set relay.ticket_key_file="$work/ticket.key" \
    --set relay.offer_own=false --set limits.invites_per_minute=1000 --log-level warn > "$log" 2>&1 &
  pids+=($!)
  eval "${name}_pid=$! ${name}_port=$node_port"
  wait_for "$log" "parleyd: ready" 20
  eval "${name}_ws=$(awk '/websocket:/ {print $2}' "$log")"
}
start_node east  # first alone: it applies the store's migrations
start_node west
p alice init --server "$east_ws" --name alice > "$work/init_alice.log"
p bob init --server "$west_ws" --name bob > "$work/init_bob.log"
echo "ok: east and west on postgres://127.0.0.1:$pg_port and the bus; alice on east, bob on west"

# call N SECONDS: bob listens (auto-answer, once) and alice calls him for SECONDS, relay UDP
# only, both with --stats; leaves alice_pid and bob_pid running, returns once connected.
call() {
  local n=$1 duration=$2
  p bob listen --auto-answer --once --transport udp --in "$testdata/speech_fa.wav" --out "$work/bob$n.wav" \
    --stats "$work/bob$n.jsonl" > "$work/bob$n.log" 2>&1 &
  bob_pid=$!; pids+=("$bob_pid")
  wait_for "$work/bob$n.log" "Waiting for calls"
  p alice call bob --transport udp --in "$testdata/speech_en_male.wav" --out "$work/alice$n.wav" \
    --max-duration "$duration" --stats "$work/alice$n.jsonl" > "$work/alice$n.log" 2>&1 &
  alice_pid=$!; pids+=("$alice_pid")
  wait_for "$work/alice$n.log" "^Connected to" 20
}
# same_fingerprint N: both sides of call N show one fingerprint.
same_fingerprint() {
  local fa fb
  fa=$(grep '^fingerprint:' "$work/alice$1.log" || true); fb=$(grep '^fingerprint:' "$work/bob$1.log" || true)
  [[ -n "$fa" && "$fa" == "$fb" ]] || fail "call $1: fingerprints differ: '$fa' vs '$fb'"
}
# relay_of WHO N: the standalone relay WHO's media went through last in call N; fails on
# any other port (a node's own relay).
relay_of() {
  local port
  port=$(relay_port_of "$work/$1$2.jsonl")
  case "$port" in
    "$relay_a_port") relay=relay-a ;;
    "$relay_b_port") relay=relay-b ;;
    *) fail "call $2: $1's media went through 127.0.0.1:${port:-?}, which is not one of the announced relays" ;;
  esac
}
at_least() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$1" "$2"; }

# 1. Across nodes, through an announced relay: audio both ways.
call 1 5
wait "$alice_pid" || fail "alice's call exited $?: $(cat "$work/alice1.log")"
wait "$bob_pid" || fail "bob exited $?: $(cat "$work/bob1.log")"
same_fingerprint 1
relay_of alice 1; relay1=$relay
relay_of bob 1; [[ $relay == "$relay1" ]] || fail "call 1: alice used $relay1, bob $relay"
c_ab=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/bob1.wav")
c_ba=$("$here/correlate.py" "$testdata/speech_fa.wav" "$work/alice1.wav")
c_wrong=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/alice1.wav")
at_least "$c_ab" 0.6 && at_least "$c_ba" 0.6 && at_least "$c_ab" "$c_wrong" && at_least "$c_ba" "$c_wrong" \
  || fail "recordings do not correlate with the far end's input (alice->bob $c_ab, bob->alice $c_ba, unrelated $c_wrong)"
echo "ok: call across nodes through $relay1; correlation alice->bob $c_ab, bob->alice $c_ba, unrelated $c_wrong"

# 2. The callee's node killed mid-call: media stays on its relay.
node_kill_at_s=2
call 2 8
sleep "$node_kill_at_s"
kill -9 "$west_pid"
wait "$west_pid" 2>/dev/null || true
wait "$alice_pid" || fail "alice's call exited $? after west was killed: $(cat "$work/alice2.log")"
wait "$bob_pid" || true
same_fingerprint 2
relay_of bob 2; relay2=$relay
n_b=$(received_since "$work/bob2.jsonl" $((node_kill_at_s + 1)))
# 20 ms packets: ~250 in the 5 s after the kill; at least 2 s of 60 ms packets.
((n_b > 33)) || fail "bob received $n_b media packets after west was killed"
c_after=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/bob2.wav" 4 3)
at_least "$c_after" 0.5 || fail "bob's recording after west was killed does not correlate ($c_after)"
echo "ok: west killed ${node_kill_at_s} s into the call; the call ran its 8 s on $relay2; bob got $n_b packets" \
  "after the kill, correlation alice->bob after it $c_after"

# 3. The relay carrying the call killed mid-call: both move to the other relay.
start_node west "$west_port"
relay_kill_at_s=3
call 3 10
connected_at=$(date +%s.%N)
for _ in $(seq 30); do [[ -n "$(relay_port_of "$work/alice3.jsonl")" ]] && break; sleep 0.1; done
relay_of alice 3; first=$relay
if [[ $first == relay-a ]]; then victim_pid=$relay_a_pid other=relay-b other_port=$relay_b_port
else victim_pid=$relay_b_pid other=relay-a other_port=$relay_a_port; fi
sleep "$(python3 -c "import sys; print(max(0.0, float(sys.argv[1]) - float(sys.argv[2]) + float(sys.argv[3])))" \
  "$relay_kill_at_s" "$(date +%s.%N)" "$connected_at")"
kill -9 "$victim_pid"
wait "$alice_pid" || fail "alice's call exited $?: $(cat "$work/alice3.log")"
wait "$bob_pid" || fail "bob exited $?: $(cat "$work/bob3.log")"
for who in alice bob; do
  grep -q "does not answer; media moves to the relay 127.0.0.1:$other_port" "$work/${who}3.log" \
    || fail "$who did not move to $other: $(cat "$work/${who}3.log")"
  grep -q "^Reconnected after" "$work/${who}3.log" || fail "$who never heard the other again: $(cat "$work/${who}3.log")"
  tail -1 "$work/${who}3.jsonl" | grep -q '"state":"connected"' || fail "$who did not end connected"
  relay_of "$who" 3; [[ $relay == "$other" ]] || fail "$who's media did not end on $other but on $relay"
done
[[ $(grep -c "^Connected to" "$work/alice3.log") == 1 && $(grep -c "^Incoming call" "$work/bob3.log") == 1 ]] \
  || fail "the call was set up more than once (bob rang again?)"
same_fingerprint 3
gap_a=$(reconnect_gap "$work/alice3.log"); gap_b=$(reconnect_gap "$work/bob3.log")
((gap_a < 3000 && gap_b < 3000)) || fail "audio came back after ${gap_a} ms at alice and ${gap_b} ms at bob (limit 3000)"
after=$(python3 -c "print($relay_kill_at_s + 3.5)")
n_a=$(received_since "$work/alice3.jsonl" "$after"); n_b=$(received_since "$work/bob3.jsonl" "$after")
((n_a > 25 && n_b > 25)) || fail "media did not resume after the kill: alice got $n_a packets, bob $n_b"
c_ab=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/bob3.wav" 3 "$after")
c_ba=$("$here/correlate.py" "$testdata/speech_fa.wav" "$work/alice3.wav" 3 "$after")
at_least "$c_ab" 0.5 && at_least "$c_ba" 0.5 \
  || fail "recordings after the move do not correlate (alice->bob $c_ab, bob->alice $c_ba)"
echo "ok: $first killed ${relay_kill_at_s} s into the call; audio back at $other after ${gap_a} ms at alice and" \
  "${gap_b} ms at bob (outage included); same fingerprint, one ring; correlation after it alice->bob $c_ab," \
  "bob->alice $c_ba"
echo "PASS"
