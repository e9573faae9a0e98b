#!/usr/bin/env bash
# Signaling abuse against a real parleyd on 127.0.0.1 (issue #7): many half-open TCP,
# TLS (ClientHello never finished), HTTP (WebSocket upgrade never finished) and
# WebSocket (server hello never answered) connections are refused over the per-address
# cap or shed by their timeouts, the server's descriptors return to where they were,
# and a user connected all along still takes a call; deeply nested and oversized JSON
# get a clear error. (The invite flood is signaling_hub_test's
# InviteFloodIsRateLimitedAndAnotherCallStillConnects, in simulated time.)
# Usage: signaling_abuse_test.sh BUILD_DIR TESTDATA_DIR
set -euo pipefail
build=$(cd "${1:?usage: signaling_abuse_test.sh BUILD_DIR TESTDATA_DIR}" && pwd)
testdata=${2:?usage: signaling_abuse_test.sh BUILD_DIR TESTDATA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
test_name=signaling_abuse_test
source "$(dirname "$0")/lib.sh"
parley_timeout=30

# Short timeouts so that shedding is quick to see: a TLS handshake gets 1 s, an HTTP
# request 2 s, a WebSocket that answers no ping 4 s; 40 connections per address.
start_server --set limits.tls_handshake_timeout_ms=1000 --set limits.http_keepalive_timeout_s=2 \
  --set signaling.idle_timeout_s=4 --set limits.max_connections_per_ip=40
for who in alice bob; do p "$who" init --server "$ws" --name "$who" > "$work/init_$who.log"; done

# Bob is connected before the flood and stays connected through it.
p bob listen --auto-answer --once --in "$testdata/speech_fa.wav" --out /dev/null > "$work/bob.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob.log" "Waiting for calls"
fds_before=$(ls "/proc/$server_pid/fd" | wc -l)

# 1. 25 connections of each half-open kind (100, over the cap of 40 from one address).
"$here/half_open.py" flood "$ws" 25 12 > "$work/flood.json" || fail "flood client: $(cat "$work/flood.json")"
echo "flood: $(cat "$work/flood.json")"
python3 - "$work/flood.json" <<'PY' || fail "half-open connections were not all shed: $(cat "$work/flood.json")"
import json, sys
r = json.load(open(sys.argv[1]))
opened = sum(r["opened"].values()); shed = sum(r["shed"].values()); refused = sum(r["refused_at_once"].values())
assert opened + refused == 100, r
assert r["still_open"] == 0 and shed == opened, r
assert refused > 0, "the per-address cap refused nothing"
PY
sleep 1
fds_after=$(ls "/proc/$server_pid/fd" | wc -l)
((fds_after <= fds_before + 2)) || fail "parleyd holds $fds_after descriptors after the flood, $fds_before before"
echo "ok: 100 half-open connections refused or shed; parleyd descriptors $fds_before before, $fds_after after"

# 2. Deeply nested and oversized JSON.
"$here/half_open.py" json "$ws" deep > "$work/deep.log" 2>&1 || true
grep -q "deeper than" "$work/deep.log" || fail "deep JSON: $(cat "$work/deep.log")"
"$here/half_open.py" json "$ws" oversized > "$work/oversized.log" 2>&1 || true
grep -q "^close: 1009" "$work/oversized.log" || fail "oversized JSON: $(cat "$work/oversized.log")"
echo "ok: deep JSON -> $(grep -o '"message":"[^"]*"' "$work/deep.log" | head -1); oversized -> $(grep '^close' "$work/oversized.log")"

# 3. Bob, connected all along, takes a call.
p alice call bob --in "$testdata/speech_en_male.wav" --out /dev/null --max-duration 3 > "$work/alice.log" 2>&1 ||
  fail "alice's call after the flood exited $?: $(cat "$work/alice.log")"
grep -q "Connected to bob" "$work/alice.log" || fail "no connection: $(cat "$work/alice.log")"
wait "$bob_pid" || fail "bob exited $?: $(cat "$work/bob.log")"
kill -0 "$server_pid" || fail "parleyd died"
echo "ok: a user connected through the flood still takes a call"
