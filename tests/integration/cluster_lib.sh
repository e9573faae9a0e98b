# PostgreSQL and Redis for the several-node tests (issue #8), started from Debian's
# packages on 127.0.0.1 at free ports and stopped at exit; never the system services.
# Source it after lib.sh (it needs work, pids, wait_for, free_port and fail). Also used by
# the load bench's set-up, so nothing here prints unless asked to.

pg_bin=/usr/lib/postgresql/15/bin
pg_dir=
pg_pid=

# stop_postgres: immediate shutdown (SIGQUIT: nothing in a test needs to survive), then
# its directory is removed (its log is in $work). Safe to call twice.
stop_postgres() {
  if [[ -n "$pg_pid" ]]; then
    kill -QUIT "$pg_pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do kill -0 "$pg_pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pg_pid" 2>/dev/null || true
    pg_pid=
  fi
  if [[ -n "$pg_dir" ]]; then rm -rf "$pg_dir"; fi
  pg_dir=
}
# Runs lib.sh's cleanup, then stops PostgreSQL (its clients, the nodes, are gone by then).
cluster_cleanup() { cleanup; stop_postgres; }
trap cluster_cleanup EXIT
trap 'exit 143' TERM INT HUP  # a timeout's SIGTERM still runs the cleanup

# start_postgres: initdb and postgres in a directory of their own (as "nobody" when run as
# root: PostgreSQL refuses root), listening on 127.0.0.1:<free port> and a socket in that
# directory only; creates the database "parley". Sets pg_port and pg_url (the store URL).
start_postgres() {
  [[ -x "$pg_bin/initdb" && -x "$pg_bin/postgres" ]] \
    || fail "PostgreSQL 15 is not installed (no $pg_bin/initdb): run scripts/install-deps"
  # Its own directory, not under $work: nobody could not enter root's 0700 work directory.
  pg_dir=$(mktemp -d /tmp/parley_pg.XXXXXX)
  local as_user=()
  if ((EUID == 0)); then
    chown nobody: "$pg_dir"
    as_user=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups --)
  fi
  "${as_user[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U parley --auth=trust --no-sync --no-instructions \
    -E UTF8 --locale=C.UTF-8 > "$pg_dir/initdb.log" 2>&1 || fail "initdb failed: $(cat "$pg_dir/initdb.log")"
  pg_port=$(free_port SOCK_STREAM)
  # setpriv execs postgres in place, so $! is the postmaster. fsync off: nothing here
  # outlives the machine's page cache.
  "${as_user[@]}" "$pg_bin/postgres" -D "$pg_dir/data" -p "$pg_port" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$pg_dir" -c fsync=off -c full_page_writes=off -c shared_buffers=16MB \
    -c max_connections=60 -c log_min_messages=warning > "$work/postgres.log" 2>&1 &
  pg_pid=$!
  disown "$pg_pid"  # stop_postgres ends it; lib.sh's cleanup must not wait for it
  local deadline=$((SECONDS + 20))
  until pg_isready -q -h 127.0.0.1 -p "$pg_port" -d postgres -U parley; do
    kill -0 "$pg_pid" 2>/dev/null || fail "postgres exited at start: $(cat "$work/postgres.log")"
    ((SECONDS < deadline)) || fail "postgres did not accept connections within 20 s: $(cat "$work/postgres.log")"
    sleep 0.1
  done
  psql -q -h 127.0.0.1 -p "$pg_port" -U parley -d postgres -c "CREATE DATABASE parley" > /dev/null \
    || fail "could not create the database parley on 127.0.0.1:$pg_port"
  pg_url="postgres://parley@127.0.0.1:$pg_port/parley"
}

# start_redis [PREFIX]: redis-server on 127.0.0.1:<free port>, no persistence; its pid goes
# into pids (lib.sh's cleanup stops it). Sets redis_port and bus_url (PREFIX default parley).
start_redis() {
  redis_port=$(free_port SOCK_STREAM)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$work/redis.log" 2>&1 &
  pids+=($!)
  wait_for "$work/redis.log" "Ready to accept connections"
  bus_url="redis://127.0.0.1:$redis_port/${1:-parley}"
}

# announced_relays [PREFIX]: the ids of the relays announced on the bus now (one a line).
announced_relays() { redis-cli -h 127.0.0.1 -p "$redis_port" ZRANGE "${1:-parley}:relays" 0 -1; }


# relay_port_of STATS_JSONL: the UDP port of the relay the client's media went through
# last ("relay-udp HOST:PORT" in its --stats lines); empty if none yet. Safe to call
# while the client is still writing the file.
relay_port_of() {
  python3 -c 'import json,sys
port = ""
for line in open(sys.argv[1]):
    try: d = json.loads(line).get("path_description") or ""
    except ValueError: continue  # a line the client is still writing
    if d.startswith("relay-udp "): port = d.rsplit(":", 1)[1]
print(port)' "$1"
}

# reconnect_gap CLIENT_LOG: the first "Reconnected after N ms without audio." of a call, N.
reconnect_gap() { sed -n 's/^Reconnected after \([0-9]*\) ms without audio\./\1/p' "$1" | head -1; }
