# Shared set-up of the process-level tests: a work directory cleaned on exit, a parleyd
# on 127.0.0.1 with its own data, and `p WHO ...` to run parley with WHO's profile.
# Source it after setting `build` (absolute) and `test_name`; then call start_server.
# Every process started in the background goes into `pids` so that cleanup stops it.

parley="$build/apps/parley/parley"
parleyd="$build/apps/parleyd/parleyd"
work=$(mktemp -d "/tmp/parley_${test_name:?set test_name before sourcing lib.sh}.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ "${keep:-0}" != 1 ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; keep=1; echo "logs in $work" >&2; exit 1; }

# wait_for FILE PATTERN [SECONDS]
wait_for() {
  local deadline=$((SECONDS + ${3:-10}))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "no '$2' in $1 within ${3:-10}s: $(cat "$1" 2>/dev/null)"
    sleep 0.1
  done
}
# free_port SOCK_STREAM|SOCK_DGRAM: a port nothing listens on now.
free_port() {
  python3 -c 'import socket,sys; s=socket.socket(type=getattr(socket,sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}
port=$(free_port SOCK_STREAM)

# start_server [PARLEYD_ARGS...]: (re)starts parleyd on $port with $work/data; sets
# server_pid, server_log and ws (the address clients join). A running one is stopped first.
server_starts=0
start_server() {
  stop_server
  server_starts=$((server_starts + 1))
  server_log="$work/parleyd_$server_starts.log"
  server_args=("$@")
  "$parleyd" --data "$work/data" --host 127.0.0.1 --port "$port" --server-name 127.0.0.1 --allow-loopback \
    --set limits.invites_per_minute=1000 --log-level warn "$@" > "$server_log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_for "$server_log" "parleyd: ready"
  ws=$(awk '/websocket:/ {print $2}' "$server_log")
}
stop_server() {
  [[ -n "${server_pid:-}" ]] || return 0
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
# restart_server: the same arguments again. parleyd keeps its login rate limit per client
# address in memory (about ten logins at once), so a restart between groups of steps resets it.
restart_server() { start_server "${server_args[@]}"; }

# p WHO PARLEY_ARGS...: parley with WHO's profile, bounded by $parley_timeout seconds.
parley_timeout=40
p() { local who=$1; shift; timeout "$parley_timeout" "$parley" --profile "$work/$who" "$@"; }

# received_since STATS_JSONL T: media packets a client received after T seconds into its
# call (from its --stats lines, one a second).
received_since() {
  python3 -c 'import json,sys
lines = [json.loads(l) for l in open(sys.argv[1])]
before = max([s["packets_received"] for s in lines if s["t"] <= float(sys.argv[2])] or [0])
print(lines[-1]["packets_received"] - before)' "$1" "$2"
}
