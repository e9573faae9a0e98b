#!/usr/bin/env python3
"""Signaling load bench (issue #8), started by `make bench`: one parleyd with SQLite on
127.0.0.1 and parley-load keeping N clients (10,000 unless given) logged in while pairs
place and end calls at a steady rate. Rewrites the part of docs/benchmarks.md between the
signaling-bench markers.

Usage: scripts/bench_signaling.py [--build build/release] [--clients N] [--rate R] [--duration S]
"""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BEGIN, END = "<!-- signaling-bench:begin -->", "<!-- signaling-bench:end -->"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_seconds(pid):
    """User + system CPU time of a live process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Parleyd:
    """One parleyd node on 127.0.0.1 with its own data directory (SQLite)."""

    def __init__(self, parleyd, work, clients, extra_sets=()):
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
        raise SystemExit(f"bench_signaling: parleyd did not start; its log:\n{open(self.log_path).read()}")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def run_load(build, servers, pids, args, work):
    out = os.path.join(work, "load.json")
    command = [os.path.join(build, "apps/parley-load/parley-load"), "--server-name", "127.0.0.1",
               "--clients", str(args.clients), "--rate", str(args.rate), "--duration", str(args.duration),
               "--hold-ms", str(args.hold_ms), "--json", out]
    for server in servers:
        command += ["--server", server]
    for pid in pids:
        command += ["--server-pid", str(pid)]
    cpu_before = [cpu_seconds(pid) for pid in pids]
    started = time.time()
    load = subprocess.run(command, stdout=subprocess.DEVNULL, preexec_fn=raise_file_limit)
    wall = time.time() - started
    if not os.path.exists(out):
        raise SystemExit(f"bench_signaling: parley-load failed (exit {load.returncode})")
    with open(out) as f:
        result = json.load(f)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["wall_seconds"] = wall
    result["server_cpu_seconds"] = sum(cpu_seconds(pid) for pid in pids) - sum(cpu_before)
    result["load_cpu_seconds"] = usage.ru_utime + usage.ru_stime
    return result


def one_node_sqlite(args):
    work = tempfile.mkdtemp(prefix="parley-bench-signaling-", dir=args.work_dir)
    node = Parleyd(args.parleyd or os.path.join(args.build, "apps/parleyd/parleyd"), work, args.clients)
    try:
        result = run_load(args.build, [node.target], [node.process.pid], args, work)
    finally:
        node.stop()
        shutil.rmtree(work, ignore_errors=True)
    result["setup"] = "1 node, SQLite"
    return result


def two_nodes_postgres_redis(args):
    """Hook for the two-node run (Redis + PostgreSQL), added when the multi-node hub lands:
    start redis-server and PostgreSQL on loopback (as tests/integration does), two Parleyd
    nodes with extra_sets=[f"store=postgres://...", f"bus=redis://127.0.0.1:PORT/bench", "node.id=n1"]
    (whatever keys parleyd ends up with), then run_load(build, [a.target, b.target],
    [a.process.pid, b.process.pid], args, work): parley-load already spreads clients round
    robin over every --server and sums the memory of every --server-pid. Returns None until then."""
    return None


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


def write_doc(doc_path, results, args):
    lines = [BEGIN, "", "### Signaling load (`scripts/bench_signaling.py`, `make bench`)", "",
             f"Measured on {describe_machine()}, shared with other work, parleyd and parley-load on the "
             f"same machine over 127.0.0.1. parley-load keeps {args.clients:,} clients logged in over TLS "
             f"WebSockets (4 per source address 127.1.x.y, because parleyd limits logins per address), then "
             f"pairs place calls at {args.rate:g} per second for {args.duration:g} s: invite, route, offer "
             "with a real key-agreement commit, incoming, accept, accepted, relay to both, reveal; the "
             f"caller hangs up {args.hold_ms:g} ms after set-up. Set-up latency: invite sent to both "
             "parties' `relay` received. Memory: parleyd's resident set after the login phase minus "
             "before it, per logged-in client.", "",
             "| setup | clients logged in | login phase s | calls set up / s (asked) | set-up median ms | "
             "p99 ms | failures | server kB per client | server CPU s | load CPU s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        failures = ", ".join(f"{k}: {v}" for k, v in sorted(r["failures"].items())) or "none"
        lines.append(f"| {r['setup']} | {r['logged_in']:,} / {r['clients']:,} | {r['login_phase_seconds']:.1f} | "
                     f"{r['calls_set_up_per_second']:.1f} ({args.rate:g}) | {r['setup_median_ms']:.1f} | "
                     f"{r['setup_p99_ms']:.1f} | {failures} | {r['server_rss_per_client_kb']:.1f} | "
                     f"{r['server_cpu_seconds']:.1f} | {r['load_cpu_seconds']:.1f} |")
    lines += ["", "The two-node run (PostgreSQL + Redis) is not in this table yet: it is added when the "
              "multi-node hub lands (`two_nodes_postgres_redis` in the script).", "", END]
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
    parser.add_argument("--doc", default=os.path.join(root, "docs/benchmarks.md"))
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--work-dir", help="where parleyd's data directory goes (default: the system's temp dir)")
    args = parser.parse_args()
    if args.clients_positional:
        args.clients = args.clients_positional
    results = [one_node_sqlite(args)]
    two = two_nodes_postgres_redis(args)
    if two:
        results.append(two)
    for r in results:
        print(json.dumps(r, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    write_doc(args.doc, results, args)


if __name__ == "__main__":
    sys.exit(main())
