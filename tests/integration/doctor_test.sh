#!/usr/bin/env bash
# `parley doctor` against a real parleyd on 127.0.0.1: with everything reachable, relay
# over UDP and over TLS both work and calls would use UDP; with the relay's public UDP
# port pointing at a closed port (relay.public_port), UDP is reported blocked, TLS
# works and is what calls would use. Usage: doctor_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: doctor_test.sh BUILD_DIR}" && pwd)
test_name=doctor_test
source "$(dirname "$0")/lib.sh"
# field JSON_FILE PYTHON_EXPRESSION_OVER_j
field() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

start_server
p alice init --server "$ws" --name alice > "$work/init.log" 2>&1 || fail "init: $(cat "$work/init.log")"

# 1. Everything reachable.
set +e; p alice doctor --json > "$work/open.json" 2> "$work/open.err"; rc=$?; set -e
[[ $rc == 0 ]] || fail "doctor exited $rc on an open network: $(cat "$work/open.json" "$work/open.err")"
[[ $(field "$work/open.json" 'j["signaling"]["logged_in"]') == True ]] || fail "signaling: $(cat "$work/open.json")"
for name in relay-udp relay-tls relay-udp+relay-tls; do
  verdict=$(field "$work/open.json" "[q['verdict'] for q in j['paths'] if q['name']=='$name'][0]")
  [[ $verdict == works ]] || fail "$name: $verdict on an open network: $(cat "$work/open.json")"
done
use=$(field "$work/open.json" 'j["calls_will_use"]')
[[ $use == p2p || $use == relay-udp ]] || fail "open network would use '$use'"
[[ $(field "$work/open.json" 'j["nat"]["mapped"]') == 127.0.0.1:* ]] || fail "no mapped address: $(cat "$work/open.json")"
[[ $(field "$work/open.json" 'j["nat"]["behind_nat"]') == False ]] || fail "loopback reported as NAT"
echo "ok: open network: $(field "$work/open.json" '", ".join("%s %s %s ms" % (q["name"], q["verdict"], q["median_rtt_ms"]) for q in j["paths"])'); calls will use $use"

# The plain-words form says the same.
set +e; p alice doctor > "$work/open.txt" 2>&1; rc=$?; set -e
[[ $rc == 0 ]] || fail "plain doctor exited $rc: $(cat "$work/open.txt")"
grep -Eq "^relay-udp +works:" "$work/open.txt" || fail "plain text: $(cat "$work/open.txt")"
grep -q '^Calls will use: ' "$work/open.txt" || fail "plain text: $(cat "$work/open.txt")"

# 2. The relay's public UDP port points at a closed port: UDP blocked, TLS recommended.
stop_server
closed=$(free_port SOCK_DGRAM)
start_server --set relay.public_port="$closed"
set +e; p alice doctor --json > "$work/noudp.json" 2> "$work/noudp.err"; rc=$?; set -e
[[ $rc == 0 ]] || fail "doctor exited $rc with TLS working: $(cat "$work/noudp.json" "$work/noudp.err")"
udp=$(field "$work/noudp.json" "[q['verdict'] for q in j['paths'] if q['name']=='relay-udp'][0]")
tls=$(field "$work/noudp.json" "[q['verdict'] for q in j['paths'] if q['name']=='relay-tls'][0]")
use=$(field "$work/noudp.json" 'j["calls_will_use"]')
[[ $udp == blocked ]] || fail "relay-udp is '$udp' with the UDP port closed: $(cat "$work/noudp.json")"
[[ $tls == works ]] || fail "relay-tls is '$tls': $(cat "$work/noudp.json")"
[[ $use == relay-tls ]] || fail "would use '$use' with UDP blocked"
echo "ok: UDP port closed: relay-udp $udp, relay-tls $tls; calls will use $use"

# 3. Nothing answers at all: a non-zero exit and a sentence of what to try.
stop_server
set +e; p alice doctor > "$work/down.txt" 2>&1; rc=$?; set -e
[[ $rc != 0 ]] || fail "doctor exited 0 with the server down: $(cat "$work/down.txt")"
grep -q 'Calls will not work from this network' "$work/down.txt" || fail "down: $(cat "$work/down.txt")"
echo "ok: server down: exit $rc"
