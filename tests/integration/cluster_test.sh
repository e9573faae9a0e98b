#!/usr/bin/env bash
# Two parleyd nodes on one store and a Redis bus (issue #8) on 127.0.0.1: users on
# different nodes call each other, audio flows both ways, busy holds across nodes, and a
# call outlives its callee's node (killed 2 s into an 8 s call; bob's recording, mostly
# from after the kill, still correlates with alice's speech).
# Redis is started here (cluster_lib.sh: port from free_port, no persistence) and stopped
# at the end. cluster_postgres_test.sh runs the same on PostgreSQL with relays apart.
# Usage: cluster_test.sh BUILD_DIR TESTDATA_DIR
set -euo pipefail
build=$(cd "${1:?usage: cluster_test.sh BUILD_DIR TESTDATA_DIR}" && pwd)
testdata=${2:?usage: cluster_test.sh BUILD_DIR TESTDATA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
test_name=cluster_test
source "$here/lib.sh"
source "$here/cluster_lib.sh"
parley_timeout=40

start_redis

# start_node NAME: parleyd with its own data dir and port, the shared store and bus.
start_node() {
  local name=$1 node_port
  node_port=$(free_port SOCK_STREAM)
  "$parleyd" --data "$work/$name" --host 127.0.0.1 --port "$node_port" --server-name 127.0.0.1 --allow-loopback \
    --set "store=sqlite://$work/shared.db" --set "bus=$bus_url" --set "node.id=$name" \
    --set limits.invites_per_minute=1000 --log-level warn > "$work/$name.log" 2>&1 &
  pids+=($!)
  eval "${name}_pid=$!"
  wait_for "$work/$name.log" "parleyd: ready"
  eval "${name}_ws=$(awk '/websocket:/ {print $2}' "$work/$name.log")"
}
start_node east
start_node west
p alice init --server "$east_ws" --name alice > "$work/init_alice.log"
p carol init --server "$east_ws" --name carol > "$work/init_carol.log"
p bob init --server "$west_ws" --name bob > "$work/init_bob.log"
echo "ok: two nodes on one store and one bus; alice and carol on east, bob on west"

# 1. alice (east) calls bob (west): audio both ways, fingerprints equal.
p bob listen --auto-answer --once --in "$testdata/speech_fa.wav" --out "$work/bob_rec.wav" > "$work/bob1.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob1.log" "Waiting for calls"
p alice call bob --in "$testdata/speech_en_male.wav" --out "$work/alice_rec.wav" --max-duration 5 \
  > "$work/alice1.log" 2>&1 || fail "alice's call exited $?: $(cat "$work/alice1.log")"
wait "$bob_pid" || fail "bob exited $?: $(cat "$work/bob1.log")"
fa=$(grep '^fingerprint:' "$work/alice1.log"); fb=$(grep '^fingerprint:' "$work/bob1.log")
[[ -n "$fa" && "$fa" == "$fb" ]] || fail "fingerprints differ: '$fa' vs '$fb'"
c_ab=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/bob_rec.wav")
c_ba=$("$here/correlate.py" "$testdata/speech_fa.wav" "$work/alice_rec.wav")
c_wrong=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/alice_rec.wav")
echo "ok: call across nodes, fingerprint $fa; correlation alice->bob $c_ab, bob->alice $c_ba, unrelated $c_wrong"
python3 -c "import sys; a,b,w=map(float,sys.argv[1:]); sys.exit(0 if a>0.6 and b>0.6 and w<min(a,b) else 1)" \
  "$c_ab" "$c_ba" "$c_wrong" || fail "recordings do not correlate with the far end's input"

# 2. Busy across nodes: carol (east) calls bob (west) while bob talks with alice.
p bob listen --auto-answer --once --in "$testdata/speech_fa.wav" --out /dev/null > "$work/bob2.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob2.log" "Waiting for calls"
p alice call bob --in "$testdata/speech_en_male.wav" --out /dev/null --max-duration 4 > "$work/alice2.log" 2>&1 &
alice_pid=$!; pids+=("$alice_pid")
wait_for "$work/alice2.log" "Connected to bob" 15
p carol call bob > "$work/carol2.log" 2>&1 && fail "a busy call exited 0"
grep -q "bob is busy in another call" "$work/carol2.log" || fail "busy: $(cat "$work/carol2.log")"
wait "$alice_pid" || fail "alice's call during busy exited $?: $(cat "$work/alice2.log")"
wait "$bob_pid" || true
echo "ok: busy across nodes"

# 3. The callee's node is killed mid-call: the call's media stays on its relay (east's)
# and bob still hears alice after the kill.
p bob listen --auto-answer --once --in "$testdata/speech_fa.wav" --out "$work/bob3_rec.wav" > "$work/bob3.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob3.log" "Waiting for calls"
p alice call bob --in "$testdata/speech_en_male.wav" --out "$work/alice3_rec.wav" --max-duration 8 \
  > "$work/alice3.log" 2>&1 &
alice_pid=$!; pids+=("$alice_pid")
wait_for "$work/alice3.log" "Connected to bob" 15
sleep 2
kill -9 "$west_pid"
wait "$west_pid" 2>/dev/null || true
wait "$alice_pid" || fail "alice's call exited $? after west was killed: $(cat "$work/alice3.log")"
wait "$bob_pid" || true
c_after=$("$here/correlate.py" "$testdata/speech_en_male.wav" "$work/bob3_rec.wav")
echo "ok: west killed mid-call; alice's call ran its 8 s; alice->bob correlation $c_after"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.6 else 1)" "$c_after" \
  || fail "bob's recording does not correlate after west died"
echo "PASS"
