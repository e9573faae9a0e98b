#!/usr/bin/env bash
# Privacy with P2P off (issue #7): a capture on lo (tcpdump; root only, skipped
# otherwise) during a relayed call shows every UDP datagram of the two clients going
# to or from the relay, and none between the clients' own addresses. (That no client
# address reaches the peer in signaling is signaling_hub_test's SignalingHubP2PTest,
# which reads every message each side receives.)
# Usage: privacy_capture_test.sh BUILD_DIR TESTDATA_DIR
set -euo pipefail
build=$(cd "${1:?usage: privacy_capture_test.sh BUILD_DIR TESTDATA_DIR}" && pwd)
testdata=${2:?usage: privacy_capture_test.sh BUILD_DIR TESTDATA_DIR}
test_name=privacy_capture_test
source "$(dirname "$0")/lib.sh"
parley_timeout=30
if [[ $(id -u) != 0 ]] || ! command -v tcpdump > /dev/null; then
  echo "SKIP: the capture needs root and tcpdump"; exit 0
fi

start_server
relay_port=$(awk '/relay: udp/ {split($3, a, ":"); print a[2]}' "$server_log")
bridge_port=$(awk '/bridged to the relay at/ {sub(/.*127\.0\.0\.1:/, ""); sub(/\).*/, ""); print}' "$server_log")
[[ -n "$relay_port" && -n "$bridge_port" ]] || fail "no relay ports in $server_log"
for who in alice bob; do
  p "$who" init --server "$ws" --name "$who" > "$work/init_$who.log"
  p "$who" settings --p2p nobody > /dev/null || fail "$who settings"
done

tcpdump -i lo -n -U -w "$work/capture.pcap" udp > "$work/tcpdump.log" 2>&1 &
tcpdump_pid=$!; pids+=("$tcpdump_pid")
wait_for "$work/tcpdump.log" "listening on"
p bob listen --auto-answer --once --in "$testdata/speech_fa.wav" --out /dev/null --stats "$work/bob.jsonl" > "$work/bob.log" 2>&1 &
bob_pid=$!; pids+=("$bob_pid")
wait_for "$work/bob.log" "Waiting for calls"
p alice call bob --in "$testdata/speech_en_male.wav" --out /dev/null --max-duration 4 --stats "$work/alice.jsonl" \
  > "$work/alice.log" 2>&1 || fail "alice's call exited $?: $(cat "$work/alice.log")"
wait "$bob_pid" || fail "bob exited $?: $(cat "$work/bob.log")"
sleep 0.5
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" 2> /dev/null || true
grep -q "P2P: offering" "$work/alice.log" "$work/bob.log" && fail "a client offered candidates with P2P off"

tcpdump -r "$work/capture.pcap" -n 2> /dev/null > "$work/capture.txt"
python3 - "$work/capture.txt" "$relay_port" "$bridge_port" <<'PY' > "$work/verdict.txt" || fail "$(cat "$work/verdict.txt")"
import re, sys
relay = {int(sys.argv[2]), int(sys.argv[3])}
flows = []
for line in open(sys.argv[1]):
    m = re.search(r"IP6? (\S+)\.(\d+) > (\S+)\.(\d+): UDP", line)
    if m and m.group(1) in ("127.0.0.1", "::1") and m.group(3) in ("127.0.0.1", "::1"):
        flows.append((int(m.group(2)), int(m.group(4))))
# The clients' sockets: whatever talks to the relay's public port (the bridge is parleyd's own).
clients = {a for a, b in flows if b == int(sys.argv[2])} | {b for a, b in flows if a == int(sys.argv[2])}
relayed = [f for f in flows if f[0] in relay or f[1] in relay]
direct = [f for f in flows if f[0] in clients and f[1] in clients]
elsewhere = [f for f in flows if (f[0] in clients) != (f[1] in clients) and not (f[0] in relay or f[1] in relay)]
print(f"{len(relayed)} datagrams to or from the relay, client sockets {sorted(clients)}, "
      f"{len(direct)} between clients, {len(elsewhere)} from a client socket to anything else")
sys.exit(0 if len(relayed) > 200 and len(clients) >= 2 and not direct and not elsewhere else 1)
PY
echo "ok: P2P off: $(cat "$work/verdict.txt")"
