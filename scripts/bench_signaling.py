#!/usr/bin/env python3
"""Signaling load bench (issue #8), started by `make bench`: parley-load keeps N clients (10,000
unless given) logged in while pairs place and end calls at a steady rate, first against one
parleyd with SQLite, then in the same run against two parleyd nodes on PostgreSQL and Redis
(every call's caller on one node, its callee on the other). Everything runs on 127.0.0.1 and
is removed at the end. Rewrites the part of docs/benchmarks.md between the signaling-bench
markers.

Usage: scripts/bench_signaling.py [CLIENTS] [--build build/release] [--rate R] [--duration S]
       [--only one|two]
"""
import argparse
import base64
import ctypes
import json
import os
import platform
import pwd
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BEGIN, END = "<!-- signaling-bench:begin -->", "<!-- signaling-bench:end -->"
POSTGRES_BIN = "/usr/lib/postgresql/15/bin"
PR_SET_PDEATHSIG = 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    """In a child before exec: SIGKILL when this script dies, so nothing outlives a crash."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def raise_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    die_with_parent()


def proc_stat(pid):
    """(ppid, own CPU s, reaped children's CPU s) of a live process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def cpu_seconds(pid):
    """User + system CPU time of a live process."""
    return proc_stat(pid)[1]


def process_tree(root):
    """`root` and every live descendant (PostgreSQL runs a process per connection)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(proc_stat(int(entry))[0], []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def tree_cpu_seconds(root):
    """CPU time of a process tree: every live process's own, plus what its exited children used."""
    total = 0.0
    for pid in process_tree(root):
        try:
            _, own, reaped = proc_stat(pid)
            total += own + reaped
        except OSError:
            pass
    return total


def tree_pss_kb(root):
    """Proportional set size of a process tree (shared memory counted once), in kB."""
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_for_log(path, text, process, what, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with open(path, errors="replace") as f:
            if text in f.read():
                return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    with open(path, errors="replace") as f:
        raise SystemExit(f"bench_signaling: {what} did not start; its log:\n{f.read()[-4000:]}")


def stop_process(process, sig=signal.SIGTERM):
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Parleyd:
    """One parleyd node on 127.0.0.1 with its own data directory (SQLite unless `extra_sets`
    names another store)."""

    def __init__(self, parleyd, work, clients, extra_sets=()):
        os.makedirs(work, exist_ok=True)
        self.data = os.path.join(work, "data")
        self.port = free_port()
        self.log_path = os.path.join(work, "parleyd.log")
        sets = [f"limits.max_connections={clients + 1000}", "limits.max_connections_per_ip=64",
                "limits.invites_per_minute=1000", *extra_sets]
        args = [parleyd, "--data", self.data, "--host", "127.0.0.1",
                "--port", str(self.port), "--server-name", "127.0.0.1", "--allow-loopback", "--log-level", "warn"]
        for s in sets:
            args += ["--set", s]
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=raise_file_limit)
        self.pid = self.process.pid
        deadline = time.time() + 30
        while time.time() < deadline:
            text = open(self.log_path).read()
            match = re.search(r"websocket: wss://(\S+)", text)
            if "parleyd: ready" in text and match:
                self.target = match.group(1)
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"bench_signaling: parleyd did not start; its log:\n{open(self.log_path).read()}")

    def errors(self):
        """The log's error lines (parleyd logs at warn level here), at most a few."""
        with open(self.log_path, errors="replace") as f:
            lines = [line.rstrip() for line in f if "error" in line.lower()]
        return lines

    def stop(self):
        stop_process(self.process)
        self.log.close()


class Postgres:
    """A private PostgreSQL 15 cluster from Debian's binaries: initdb in a new temporary
    directory, postgres on 127.0.0.1:<free port> and a unix socket in that directory, run as
    "nobody" when this script runs as root (PostgreSQL refuses root). Durability settings
    are PostgreSQL's defaults (fsync on, synchronous_commit on), as SQLite's are FULL.
    Never the system service, never port 5432."""

    def __init__(self, parent_dir):
        for tool in ("initdb", "postgres", "pg_isready", "createdb"):
            if not os.access(os.path.join(POSTGRES_BIN, tool), os.X_OK):
                raise SystemExit(f"bench_signaling: PostgreSQL 15 is not installed (no {POSTGRES_BIN}/{tool}): "
                                 "run scripts/install-deps, which installs Debian's postgresql.")
        self.dir = tempfile.mkdtemp(prefix="parley-bench-pg-", dir=parent_dir)
        self.uid = self.gid = None
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            os.chown(self.dir, self.uid, self.gid)
        os.chmod(self.dir, 0o700)
        self.log_path = os.path.join(self.dir, "log")
        self.log = open(self.log_path, "w")
        if self.uid is not None:
            os.chown(self.log_path, self.uid, self.gid)
        self.process = None
        data = os.path.join(self.dir, "data")
        initdb = subprocess.run([f"{POSTGRES_BIN}/initdb", "-D", data, "-U", "parley", "--auth=trust", "--no-sync",
                                 "--no-instructions", "-E", "UTF8", "--locale=C.UTF-8"],
                                stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=self._drop_root, cwd=self.dir)
        if initdb.returncode != 0:
            self.stop()
            raise SystemExit(f"bench_signaling: initdb failed (exit {initdb.returncode}); see {self.log_path}")
        self.port = free_port()
        self.process = subprocess.Popen(
            [f"{POSTGRES_BIN}/postgres", "-D", data, "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", f"unix_socket_directories={self.dir}", "-c", "max_connections=50",
             "-c", "log_min_messages=warning"],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=self._drop_root, cwd=self.dir)
        self.pid = self.process.pid
        deadline = time.time() + 30
        while time.time() < deadline:
            ready = subprocess.run([f"{POSTGRES_BIN}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)])
            if ready.returncode == 0:
                break
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        created = subprocess.run([f"{POSTGRES_BIN}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "parley",
                                  "bench"], stdout=self.log, stderr=subprocess.STDOUT)
        if created.returncode != 0:
            log = open(self.log_path, errors="replace").read()[-4000:]
            self.stop()
            raise SystemExit(f"bench_signaling: PostgreSQL did not start; its log:\n{log}")
        self.url = f"postgres://parley@127.0.0.1:{self.port}/bench"

    def transactions(self):
        """Transactions committed or rolled back in the bench database so far (PostgreSQL's
        statistics, which a busy backend flushes about once a second, so the count trails by about
        that much); read from another database so that the query is not counted."""
        out = subprocess.run([f"{POSTGRES_BIN}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "parley",
                              "-d", "postgres", "-Atc",
                              "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'bench'"],
                             capture_output=True, text=True)
        numbers = [int(x) for x in out.stdout.split() if x.isdigit()]
        return numbers[-1] if numbers else 0

    def _drop_root(self):
        if self.uid is not None:
            os.setgroups([])
            os.setgid(self.gid)
            os.setuid(self.uid)
        die_with_parent()  # after setuid, which clears it

    def stop(self):
        if self.process:
            stop_process(self.process, signal.SIGINT)  # fast shutdown: nothing here is kept
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """redis-server on 127.0.0.1:<free port>, no persistence, started and stopped here."""

    def __init__(self, work):
        if not shutil.which("redis-server"):
            raise SystemExit("bench_signaling: redis-server is not installed: run scripts/install-deps, which "
                             "installs Debian's redis-server.")
        self.port = free_port()
        self.log_path = os.path.join(work, "redis.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no"],
                                        stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent, cwd=work)
        self.pid = self.process.pid
        wait_for_log(self.log_path, "Ready to accept connections", self.process, "redis-server")

    def commands(self):
        """Commands Redis has run so far (INFO commandstats), less the INFO calls themselves."""
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "INFO", "commandstats"],
                             capture_output=True, text=True).stdout
        total = 0
        for line in out.splitlines():
            match = re.match(r"cmdstat_(\w+):calls=(\d+)", line)
            if match and match.group(1) != "info":
                total += int(match.group(2))
        return total

    def stop(self):
        stop_process(self.process)
        self.log.close()


class Meter:
    """CPU seconds and memory of the processes under test, read at the load's phase marks."""

    def __init__(self, nodes, redis=None, postgres=None):
        self.nodes, self.redis, self.postgres = nodes, redis, postgres

    def cpu(self, load_pid):
        c = {"parleyd": sum(cpu_seconds(n.pid) for n in self.nodes)}
        if self.redis:
            c["redis"] = cpu_seconds(self.redis.pid)
        if self.postgres:
            c["postgres"] = tree_cpu_seconds(self.postgres.pid)
        try:
            c["parley-load"] = cpu_seconds(load_pid)
        except OSError:
            c["parley-load"] = 0.0
        return c

    def operations(self):
        """Redis commands and PostgreSQL transactions so far (what the nodes asked of them)."""
        ops = {}
        if self.redis:
            ops["redis commands"] = self.redis.commands()
        if self.postgres:
            ops["postgres transactions"] = self.postgres.transactions()
        return ops

    def memory_kb(self):
        m = {}
        if self.redis:
            m["redis"] = rss_kb(self.redis.pid)
        if self.postgres:
            m["postgres"] = tree_pss_kb(self.postgres.pid)
        return m


def difference(after, before):
    return {k: after[k] - before.get(k, 0) for k in after}


def run_load(build, meter, args, work):
    """Runs parley-load against the meter's nodes; its JSON figures plus CPU per process and
    phase, the store's and bus's memory and the load average."""
    out = os.path.join(work, "load.json")
    command = [os.path.join(build, "apps/parley-load/parley-load"), "--server-name", "127.0.0.1",
               "--clients", str(args.clients), "--rate", str(args.rate), "--duration", str(args.duration),
               "--hold-ms", str(args.hold_ms), "--idle-seconds", str(args.idle), "--json", out]
    for node in meter.nodes:
        command += ["--server", node.target]
    for node in meter.nodes:
        command += ["--server-pid", str(node.pid)]
    load_log_path = os.path.join(work, "parley-load.log")
    marks = {}
    loadavg_start = os.getloadavg()[0]
    started = time.time()
    load = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=raise_file_limit)
    marks["start"] = (time.time(), meter.cpu(load.pid), meter.memory_kb(), meter.operations())

    def follow():
        with open(load_log_path, "w") as log:
            for line in load.stderr:
                log.write(line)
                log.flush()
                sys.stderr.write(line)
                for mark, text in (("idle", "idle phase starts"), ("starts", "calling phase starts"),
                                   ("ends", "calling phase ends")):
                    if f"parley-load: {text}" in line:
                        marks[mark] = (time.time(), meter.cpu(load.pid), meter.memory_kb(), meter.operations())

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    load.wait()
    reader.join(timeout=5)
    wall = time.time() - started
    if not os.path.exists(out):
        raise SystemExit(f"bench_signaling: parley-load failed (exit {load.returncode}); see its log above")
    with open(out) as f:
        result = json.load(f)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["wall_seconds"] = wall
    result["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    result["loadavg_start"], result["loadavg_end"] = loadavg_start, os.getloadavg()[0]
    result["parley_load_cpu_total_seconds"] = usage.ru_utime + usage.ru_stime
    if not all(mark in marks for mark in ("idle", "starts", "ends")):
        raise SystemExit("bench_signaling: parley-load did not print its phases (an older build?); rebuild it")
    when, cpu, memory, ops = (0, 1, 2, 3)

    def between(first, last, what):
        return difference(marks[last][what], marks[first][what])

    result["cpu_login_phase_seconds"] = between("start", "idle", cpu)
    result["cpu_idle_phase_seconds"] = between("idle", "starts", cpu)
    result["cpu_calling_phase_seconds"] = between("starts", "ends", cpu)
    result["operations_login_phase"] = between("start", "idle", ops)
    result["operations_idle_phase"] = between("idle", "starts", ops)
    result["operations_calling_phase"] = between("starts", "ends", ops)
    result["idle_phase_wall_seconds"] = marks["starts"][when] - marks["idle"][when]
    result["calling_phase_wall_seconds"] = marks["ends"][when] - marks["starts"][when]
    result["memory_before_kb"] = marks["start"][memory]
    result["memory_after_login_kb"] = marks["starts"][memory]
    result["server_cpu_seconds"] = sum(v for k, v in between("start", "ends", cpu).items() if k != "parley-load")

    # What the calls cost: the calling phase over the calls set up. This includes what the
    # clients cost idle over as long (presence renewals come in bursts, so subtracting the
    # idle phase's share would be noise); the idle phase's own figures show that part.
    calls = max(result["calls_set_up"], 1)
    result["cpu_ms_per_call"] = {k: 1000 * v / calls for k, v in result["cpu_calling_phase_seconds"].items()}
    result["server_cpu_ms_per_call"] = sum(v for k, v in result["cpu_ms_per_call"].items() if k != "parley-load")
    result["operations_per_call"] = {k: v / calls for k, v in result["operations_calling_phase"].items()}
    return result


def one_node_sqlite(args):
    work = tempfile.mkdtemp(prefix="parley-bench-signaling-", dir=args.work_dir)
    node = Parleyd(args.parleyd or os.path.join(args.build, "apps/parleyd/parleyd"), os.path.join(work, "node"),
                   args.clients)
    try:
        result = run_load(args.build, Meter([node]), args, work)
        result["node_errors"] = node.errors()[:5]
    finally:
        node.stop()
        shutil.rmtree(work, ignore_errors=True)
    result["setup"] = "1 node, SQLite"
    result["nodes"] = 1
    return result


def two_nodes_postgres_redis(args):
    """Two parleyd nodes (node ids bench-a, bench-b) on one PostgreSQL database and one Redis
    bus, sharing a relay ticket key as a real community's nodes do; parley-load puts every
    call's caller on one node and its callee on the other, callers alternating."""
    work = tempfile.mkdtemp(prefix="parley-bench-signaling-", dir=args.work_dir)
    parleyd = args.parleyd or os.path.join(args.build, "apps/parleyd/parleyd")
    started = []
    try:
        postgres = Postgres(args.work_dir)
        started.append(postgres)
        redis = Redis(work)
        started.append(redis)
        ticket_key = os.path.join(work, "ticket.key")
        with open(ticket_key, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        os.chmod(ticket_key, 0o600)
        nodes = []
        for name in ("bench-a", "bench-b"):
            node = Parleyd(parleyd, os.path.join(work, name), args.clients,
                           [f"store={postgres.url}", f"bus=redis://127.0.0.1:{redis.port}/bench",
                            f"node.id={name}", f"relay.ticket_key_file={ticket_key}"])
            started.append(node)
            nodes.append(node)
        result = run_load(args.build, Meter(nodes, redis, postgres), args, work)
        result["node_errors"] = [line for node in nodes for line in node.errors()][:5]
    finally:
        for part in reversed(started):
            part.stop()
        shutil.rmtree(work, ignore_errors=True)
    result["setup"] = "2 nodes, PostgreSQL + Redis"
    result["nodes"] = 2
    return result


def describe_machine():
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}"


def share_of_core(cpu, wall):
    return f"{100 * cpu / wall:.0f} %" if wall > 0 else "?"


def write_doc(doc_path, results, args):
    lines = [BEGIN, "", "### Signaling load (`scripts/bench_signaling.py`, `make bench`)", "",
             f"Measured {results[0].get('measured_at', time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))} on {describe_machine()}, shared "
             "with other work; every process on the same machine over 127.0.0.1. parley-load keeps "
             f"{args.clients:,} clients logged in over TLS WebSockets (4 per source address 127.1.x.y, "
             f"because parleyd limits logins per address), then pairs place calls at {args.rate:g} per second "
             f"for {args.duration:g} s: invite, route, offer with a real key-agreement commit, incoming, accept, "
             f"accepted, relay to both, reveal; the caller hangs up {args.hold_ms:g} ms after set-up. With two "
             "nodes every call's caller is on one node and its callee on the other (callers alternate), so "
             "every call crosses the Redis bus. Set-up latency: invite sent to both parties' `relay` received. "
             "Memory per client: the parleyd nodes' resident set after the login phase minus before it, "
             "divided by the clients logged in. The rows ran one after the other in one run.", "",
             "| setup | clients logged in | login phase s | calls set up / s (asked) | across nodes | "
             "set-up median ms | p99 ms | failures | parleyd kB per client | load average |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        failures = ", ".join(f"{k}: {v}" for k, v in sorted(r["failures"].items())) or "none"
        across = (f"{r.get('calls_across_servers', 0):,} / {r['calls_started']:,}" if r["nodes"] > 1 else "-")
        lines.append(f"| {r['setup']} | {r['logged_in']:,} / {r['clients']:,} | {r['login_phase_seconds']:.1f} | "
                     f"{r['calls_set_up_per_second']:.1f} ({args.rate:g}) | {across} | {r['setup_median_ms']:.1f} | "
                     f"{r['setup_p99_ms']:.1f} | {failures} | {r['server_rss_per_client_kb']:.1f} | "
                     f"{r['loadavg_start']:.1f} → {r['loadavg_end']:.1f} |")
    lines += ["", "Where the time went: CPU seconds of each process in each phase (in brackets, its share of one "
              "core over the phase) and, per call set up, the calling phase's CPU over the calls set up (it includes "
              f"the idle cost of the logged-in clients, shown on its own by the idle phase of {args.idle:g} s that "
              "precedes the calls). "
              "PostgreSQL counts the postmaster and all its backends; its memory is their proportional set "
              "size (shared buffers once). Redis commands and PostgreSQL transactions are what the nodes asked "
              "of them (PostgreSQL's own statistics, which trail by about a second).", "",
              "| setup | login phase: parleyd / redis / postgres / parley-load | idle phase | calling phase | "
              "CPU ms per call: parleyd / redis / postgres / parley-load | redis commands / postgres "
              "transactions per login | per call | redis / postgres memory after login MB |",
              "|---|---|---|---|---|---|---|---|"]

    def cells(values, wall=None, digits=1):
        parts = []
        for name in ("parleyd", "redis", "postgres", "parley-load"):
            if name not in values:
                parts.append("-")
                continue
            cell = f"{values[name]:.{digits}f}"
            if wall:
                cell += f" ({share_of_core(values[name], wall)})"
            parts.append(cell)
        return " / ".join(parts)

    def per(ops, count):
        if not ops or not count:
            return "-"
        return " / ".join(f"{ops[k] / count:.1f}" if k in ops else "-"
                          for k in ("redis commands", "postgres transactions"))

    for r in results:
        memory = r["memory_after_login_kb"]
        mem = " / ".join(f"{memory[k] / 1024:.0f}" if k in memory else "-" for k in ("redis", "postgres"))
        per_call = r["operations_per_call"]
        per_call_text = (" / ".join(f"{per_call[k]:.1f}" if k in per_call else "-"
                                    for k in ("redis commands", "postgres transactions")) if per_call else "-")
        lines.append(f"| {r['setup']} | {cells(r['cpu_login_phase_seconds'], r['login_phase_seconds'])} | "
                     f"{cells(r['cpu_idle_phase_seconds'], r['idle_phase_wall_seconds'])} | "
                     f"{cells(r['cpu_calling_phase_seconds'], r['calling_phase_wall_seconds'])} | "
                     f"{cells(r['cpu_ms_per_call'], digits=2)} | {per(r['operations_login_phase'], r['logged_in'])} | "
                     f"{per_call_text} | {mem} |")
    lines += ["", END]
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    block = "\n".join(lines)
    if BEGIN in doc and END in doc:
        doc = doc[:doc.index(BEGIN)] + block + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    with open(doc_path, "w", encoding="utf-8") as f:
        f.write(doc)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clients_positional", nargs="?", type=int, help="clients (default 10000)")
    parser.add_argument("--build", default=os.path.join(root, "build/release"))
    parser.add_argument("--parleyd", help="the parleyd to measure (default: BUILD/apps/parleyd/parleyd)")
    parser.add_argument("--clients", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=100, help="calls started per second")
    parser.add_argument("--duration", type=float, default=30, help="seconds of calling")
    parser.add_argument("--hold-ms", type=float, default=1000)
    parser.add_argument("--idle", type=float, default=10,
                        help="seconds logged in without calls before calling (measures what idle clients cost)")
    parser.add_argument("--only", choices=("one", "two"), help="run only the one-node or the two-node setup")
    parser.add_argument("--doc", default=os.path.join(root, "docs/benchmarks.md"))
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--from-json", help="rewrite the doc from figures an earlier run wrote with --json "
                        "(give the same --clients, --rate, --duration, --hold-ms and --idle)")
    parser.add_argument("--work-dir", help="where data directories go (default: the system's temp dir); "
                        "the user nobody must be able to enter it when running as root")
    args = parser.parse_args()
    if args.clients_positional:
        args.clients = args.clients_positional
    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)
        for r in results:
            calls = max(r["calls_set_up"], 1)
            r["cpu_ms_per_call"] = {k: 1000 * v / calls for k, v in r["cpu_calling_phase_seconds"].items()}
            r["operations_per_call"] = {k: v / calls for k, v in r["operations_calling_phase"].items()}
        write_doc(args.doc, results, args)
        return 0
    results = []
    if args.only != "two":
        results.append(one_node_sqlite(args))
    if args.only != "one":
        results.append(two_nodes_postgres_redis(args))
    for r in results:
        print(json.dumps(r, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    write_doc(args.doc, results, args)


if __name__ == "__main__":
    sys.exit(main())
