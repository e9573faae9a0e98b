#!/usr/bin/env python3
"""The censor lab: real parleyd and parley processes in network namespaces with a
censor router between them, one named policy at a time (docs/censorship.md).

Topology (created and removed by this script, names unique per run):
    cli1 10.77.1.2 --\                       /-- srv 10.77.3.2 (parleyd: TLS 443, UDP 443)
    cli2 10.77.2.2 ---- cen (router, rules in FORWARD)
    prb  10.77.4.2 --/   (the active prober)
Nothing leaves the machine: the namespaces have no link to the host's network.

Usage: netlab.py --build BUILD_DIR --testdata DIR [--bounded] [--policies a,b] [--report FILE]
                 [--web WEB_DIR] [--no-browser]
With the web app built (make web) and Chromium installed, the policies in
expectations.BROWSER_POLICIES also run a browser call: Chromium in cli1 (through a
wrapper around `ip netns exec`, tests/web_e2e/netlab_call.mjs) calls the native client in cli2.
Exit: 0 all assertions held, 1 an assertion failed, 77 skipped (not root / no netns).
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import wave
import array

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import expectations  # noqa: E402

SKIP = 77
SERVER_NAME = "parley.example"
SRV_IP = "10.77.3.2"
SUBNETS = {"cli1": 1, "cli2": 2, "srv": 3, "prb": 4}
RELAY_PORT = 443
TLS_PORT = 443
CALL_SECONDS = 8
RELAY_DIES_SECONDS = 14
RELAY_DIES_AT_S = 5.0
SPEECH_CALLER = "speech_en_male.wav"
SPEECH_CALLEE = "speech_fa.wav"
WEB_E2E = os.path.join(HERE, "..", "web_e2e")
CHROMIUM = "/usr/bin/chromium"
FORBIDDEN = ["STUN", "RTP", "RTCP", "SRTP", "DTLS", "Telegram", "WhatsApp", "Signal", "WireGuard", "Skype",
             "Zoom", "SIP", "H323", "IAX", "MGCP", "Teams", "GoogleCall", "FacebookVoip", "Viber", "VoIP", "Line"]
TSHARK_FORBIDDEN = {"stun", "classicstun", "rtp", "rtcp", "srtp", "srtcp", "dtls", "wg", "sip", "iax2", "mgcp",
                    "h225", "skype", "turnchannel"}


def log(msg):
    print(msg, flush=True)


class Failed(Exception):
    pass


def run(argv, check=True, capture=True, timeout=60, quiet_stderr=False, **kw):
    """Runs argv; returns its stdout (with stderr unless quiet_stderr, e.g. for tshark's
    warnings) and raises Failed on a non-zero exit if check."""
    stderr = subprocess.DEVNULL if quiet_stderr else subprocess.STDOUT if capture else None
    r = subprocess.run(argv, stdout=subprocess.PIPE if capture else None, stderr=stderr, text=True, timeout=timeout,
                       **kw)
    if check and r.returncode != 0:
        raise Failed("command failed (%d): %s\n%s" % (r.returncode, " ".join(argv), r.stdout or ""))
    return r.stdout or ""


class Lab:
    """Namespaces, links and processes of one run; teardown() undoes everything, and is
    safe to call twice and after a partial setup."""

    def __init__(self, work):
        self.tag = "nl%04x" % random.randrange(0x10000)
        self.work = work
        self.ns = {name: "%s-%s" % (self.tag, name) for name in ["cli1", "cli2", "srv", "prb", "cen"]}
        self.procs = []  # Popen objects we started, killed by pid at teardown
        self.created_ns = []
        self.hosts_dirs = []

    # -- topology --
    def setup(self):
        for ns in self.ns.values():
            run(["ip", "netns", "add", ns])
            self.created_ns.append(ns)
            self.ip(ns, "link", "set", "lo", "up")
        cen = self.ns["cen"]
        for name, n in SUBNETS.items():
            outer, inner = self.veth(n)
            run(["ip", "link", "add", outer, "netns", cen, "type", "veth", "peer", "name", inner, "netns",
                 self.ns[name]])
            self.ip(cen, "addr", "add", "10.77.%d.1/24" % n, "dev", outer)
            self.ip(cen, "link", "set", outer, "up")
            self.ip(self.ns[name], "addr", "add", "10.77.%d.2/24" % n, "dev", inner)
            self.ip(self.ns[name], "link", "set", inner, "up")
            self.ip(self.ns[name], "route", "add", "default", "via", "10.77.%d.1" % n)
        self.nsrun(cen, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        self.nsrun(cen, ["sysctl", "-q", "-w", "net.netfilter.nf_conntrack_acct=1"], check=False)
        # The server's name for clients, without touching the host's /etc/hosts:
        # `ip netns exec` bind-mounts /etc/netns/NS/hosts over /etc/hosts.
        for name in ["cli1", "cli2", "prb"]:
            d = "/etc/netns/" + self.ns[name]
            os.makedirs(d, exist_ok=True)
            self.hosts_dirs.append(d)
            with open(d + "/hosts", "w") as f:
                f.write("127.0.0.1 localhost\n%s %s\n" % (SRV_IP, SERVER_NAME))

    def veth(self, n):
        return "%sv%da" % (self.tag, n), "%sv%db" % (self.tag, n)

    def ip(self, ns, *args):
        run(["ip", "-n", ns] + list(args))

    def nsrun(self, ns, argv, **kw):
        return run(["ip", "netns", "exec", ns] + argv, **kw)

    def spawn(self, ns, argv, out_path, **kw):
        f = open(out_path, "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, wait_s=5):
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(wait_s)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def teardown(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    p.kill()
                    p.wait(5)
                except Exception:
                    pass
        self.procs = []
        for ns in self.created_ns:
            # Anything still inside one of our namespaces was started by this run.
            pids = subprocess.run(["ip", "netns", "pids", ns], stdout=subprocess.PIPE, text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        self.created_ns = []
        for d in self.hosts_dirs:
            shutil.rmtree(d, ignore_errors=True)
        self.hosts_dirs = []


def wait_for(path, pattern, seconds, proc=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                m = re.search(pattern, f.read())
                if m:
                    return m
        except FileNotFoundError:
            pass
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    text = open(path).read() if os.path.exists(path) else ""
    raise Failed("no '%s' in %s within %ss: %s" % (pattern, path, seconds, text[-2000:]))


# ---------------------------------------------------------------- policies

class Censor:
    """Applies one policy in the cen namespace and removes it again."""

    def __init__(self, lab, build):
        self.lab = lab
        self.cen = lab.ns["cen"]
        self.censor_bin = os.path.join(build, "tests", "netlab", "netlab_censor")
        self.proc = None
        self.tbf_devices = []

    def nft(self, script):
        self.lab.nsrun(self.cen, ["nft", "-f", "-"], input=script)

    def base(self):
        self.nft("""
table inet netlab {
  set penalty { type ipv4_addr . ipv4_addr . inet_service; flags timeout; }
  chain forward {
    type filter hook forward priority -10; policy accept;
    ip saddr . ip daddr . tcp dport @penalty drop
    ip daddr . ip saddr . tcp sport @penalty drop
  }
}
""")

    def rule(self, text):
        self.lab.nsrun(self.cen, ["nft", "add", "rule", "inet", "netlab", "forward"] + text.split())

    def start_censor(self, mode, queue, logdir):
        out = os.path.join(logdir, "censor_%s.log" % mode)
        self.proc = self.lab.spawn(self.cen, [self.censor_bin, "--mode", mode, "--queue", str(queue),
                                              "--seed", str(random.randrange(1 << 30))], out)
        wait_for(out, r"netlab_censor: ready", 10, self.proc)
        return out

    def iptables(self, *args):
        self.lab.nsrun(self.cen, ["iptables"] + list(args))

    def tbf(self, ns, dev):
        self.lab.nsrun(ns, ["tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", "64kbit", "burst", "4kb",
                            "latency", "400ms"])
        self.tbf_devices.append((ns, dev))

    def apply(self, policy, logdir):
        self.base()
        if policy in ("open", "relay-dies"):
            return
        if policy == "no-udp":
            self.rule("meta l4proto udp drop")
        elif policy == "udp-443-only":
            self.rule("udp dport 443 accept")
            self.rule("udp sport 443 accept")
            self.rule("tcp dport { 80, 443 } accept")
            self.rule("tcp sport { 80, 443 } accept")
            self.rule("meta l4proto { udp, tcp } counter drop")
        elif policy == "signatures":
            self.start_censor("signatures", 7, logdir)
            self.iptables("-A", "FORWARD", "-p", "udp", "-j", "NFQUEUE", "--queue-num", "7")
            self.iptables("-A", "FORWARD", "-p", "tcp", "-m", "connbytes", "--connbytes", "0:8", "--connbytes-dir",
                          "both", "--connbytes-mode", "packets", "-j", "NFQUEUE", "--queue-num", "7")
        elif policy in ("fully-encrypted", "allowlist"):
            self.start_censor(policy, 7, logdir)
            ports = [] if policy == "fully-encrypted" else ["-m", "multiport", "--dports", "53,80,443"]
            self.iptables("-A", "FORWARD", "-p", "tcp", *ports, "-m", "connbytes", "--connbytes", "0:4",
                          "--connbytes-dir", "original", "--connbytes-mode", "packets", "-j", "NFQUEUE",
                          "--queue-num", "7")
        elif policy == "throttle":
            for name, n in SUBNETS.items():
                if name in ("cli1", "cli2"):
                    outer, inner = self.lab.veth(n)
                    self.tbf(self.cen, outer)  # towards the client
                    self.tbf(self.lab.ns[name], inner)  # from the client
        else:
            raise Failed("unknown policy " + policy)

    def cut_relay(self):
        self.rule("ip daddr %s udp dport %d drop" % (SRV_IP, RELAY_PORT))
        self.rule("ip saddr %s udp sport %d drop" % (SRV_IP, RELAY_PORT))

    def clear(self):
        subprocess.run(["ip", "netns", "exec", self.cen, "nft", "delete", "table", "inet", "netlab"],
                       stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "exec", self.cen, "iptables", "-F", "FORWARD"], stderr=subprocess.DEVNULL)
        for ns, dev in self.tbf_devices:
            subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root"],
                           stderr=subprocess.DEVNULL)
        self.tbf_devices = []
        if self.proc:
            self.lab.stop(self.proc)
            self.proc = None


# ---------------------------------------------------------------- audio checks

def envelope(path):
    with wave.open(path, "rb") as w:
        rate, ch = w.getframerate(), w.getnchannels()
        data = array.array("h", w.readframes(w.getnframes()))
    if ch > 1:
        data = data[::ch]
    step = rate // 100
    return [math.sqrt(sum(x * x for x in data[i:i + step]) / step) for i in range(0, len(data) - step, step)]


def speech_onset_s(path):
    """Seconds from the file's start to the first 10 ms block above 10% of its loudest."""
    env = envelope(path)
    if not env or max(env) < 50:
        return None
    limit = 0.1 * max(env)
    return next(i for i, e in enumerate(env) if e > limit) / 100.0


# Speech sent before the first path is up is lost by design (the client does not buffer
# seconds of audio), and the time that takes is reported as time to audio; the audio
# check judges the call after it: 4 s of speech from 2 s on, which covers the ≤ 2 s
# that racing relay-udp costs before relay-tls takes over where UDP is blocked.
CORRELATE_SKIP_S = 2.0


def correlate(sent, received):
    if not os.path.exists(received) or os.path.getsize(received) < 1000:
        return 0.0
    out = run([sys.executable, os.path.join(HERE, "..", "integration", "correlate.py"), sent, received, "4",
               str(CORRELATE_SKIP_S)], timeout=120)
    return float(out.strip())


def read_stats(path):
    lines = []
    if os.path.exists(path):
        for line in open(path):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


# ---------------------------------------------------------------- one call

class Server:
    def __init__(self, lab, build, work, web_app=None):
        self.lab, self.build, self.work = lab, build, work
        self.web_app = web_app  # the built web app served at invite paths, or None
        self.proc = None
        self.ws = None
        self.starts = 0

    def start(self):
        self.starts += 1
        out = os.path.join(self.work, "parleyd_%d.log" % self.starts)
        self.proc = self.lab.spawn(self.lab.ns["srv"], [
            os.path.join(self.build, "apps", "parleyd", "parleyd"), "--data", os.path.join(self.work, "srvdata"),
            "--host", "0.0.0.0", "--tcp-port", str(TLS_PORT), "--udp-port", str(RELAY_PORT),
            "--server-name", SERVER_NAME, "--set", "relay.public_host=" + SRV_IP,
            "--set", "signaling.ring_timeout_s=15", "--set", "limits.invites_per_minute=1000", "--log-level", "warn"]
            + (["--web-app", self.web_app] if self.web_app else []),
            out)
        m = wait_for(out, r"websocket: (\S+)", 20, self.proc)
        self.ws = m.group(1)
        self.ws_path = "/" + self.ws.split("/", 3)[3]

    def stop(self):
        if self.proc:
            self.lab.stop(self.proc)
            self.proc = None

    def make_invite(self):
        """A web app invite in the server's store (`parleyd invite`); returns its link."""
        out = run([os.path.join(self.build, "apps", "parleyd", "parleyd"), "--data", os.path.join(self.work, "srvdata"),
                   "--tcp-port", str(TLS_PORT), "--server-name", SERVER_NAME, "invite"])
        m = re.search(r"https://\S+/[A-Za-z0-9_-]{22}/", out)
        if not m:
            raise Failed("parleyd invite printed no link: " + out)
        return m.group(0)


class Capture:
    """tcpdump on cen's interface towards one namespace."""

    def __init__(self, lab, name, path):
        outer, _ = lab.veth(SUBNETS[name])
        self.lab, self.path = lab, path
        self.proc = lab.spawn(lab.ns["cen"], ["tcpdump", "-i", outer, "-n", "-U", "-s", "0", "-w", path],
                              path + ".log")
        wait_for(path + ".log", r"listening on", 10, self.proc)

    def stop(self):
        time.sleep(0.3)
        self.lab.stop(self.proc, signal.SIGINT)


def parley(lab, build, who, work, args):
    return [os.path.join(build, "apps", "parley", "parley"), "--profile", os.path.join(work, who)] + args


def run_call(lab, build, testdata, work, policy, censor, on_connected=None):
    """Dials alice (cli1) -> bob (cli2) under the current policy. Returns the result dict."""
    d = os.path.join(work, policy)
    os.makedirs(d, exist_ok=True)
    seconds = RELAY_DIES_SECONDS if policy == "relay-dies" else CALL_SECONDS
    caps = [Capture(lab, "cli1", os.path.join(d, "cli1.pcap")), Capture(lab, "cli2", os.path.join(d, "cli2.pcap"))]
    bob = lab.spawn(lab.ns["cli2"], parley(lab, build, "bob", work, [
        "listen", "--auto-answer", "--once", "--in", os.path.join(testdata, SPEECH_CALLEE),
        "--out", os.path.join(d, "bob_rec.wav"), "--stats", os.path.join(d, "bob_stats.jsonl")]),
        os.path.join(d, "bob.log"))
    result = {"policy": policy, "connected": False, "audio_both_ways": False, "time_to_audio_s": None,
              "path": None, "dir": d}
    try:
        wait_for(os.path.join(d, "bob.log"), "Waiting for calls", 30, bob)
    except Failed as e:
        result["error"] = "callee could not log in: " + str(e).splitlines()[0]
        for c in caps:
            c.stop()
        lab.stop(bob)
        return result
    alice_log = os.path.join(d, "alice.log")
    dialled = time.monotonic()
    alice = lab.spawn(lab.ns["cli1"], parley(lab, build, "alice", work, [
        "call", "bob", "--in", os.path.join(testdata, SPEECH_CALLER), "--out", os.path.join(d, "alice_rec.wav"),
        "--max-duration", str(seconds), "--stats", os.path.join(d, "alice_stats.jsonl")]), alice_log)
    connected_at = None
    deadline = dialled + seconds + 40
    cut = False
    while alice.poll() is None and time.monotonic() < deadline:
        if connected_at is None and "Connected to" in open(alice_log).read():
            connected_at = time.monotonic()
            if on_connected:
                on_connected(d)
        if (policy == "relay-dies" and connected_at and not cut
                and time.monotonic() - connected_at >= RELAY_DIES_AT_S):
            censor.cut_relay()
            cut = True
            result["relay_cut_at_s"] = round(time.monotonic() - connected_at, 1)
        time.sleep(0.02)
    if alice.poll() is None:
        lab.stop(alice)
        result["error"] = "the caller did not finish within %d s" % (seconds + 40)
    try:
        bob.wait(15)
    except subprocess.TimeoutExpired:
        lab.stop(bob)
    for c in caps:
        c.stop()
    result["caller_exit"] = alice.returncode
    alice_text = open(alice_log).read()
    result["connected"] = "Connected to" in alice_text
    if connected_at is not None:
        result["connect_s"] = round(connected_at - dialled, 2)
    stats = read_stats(os.path.join(d, "alice_stats.jsonl"))
    if stats:
        result["path"] = stats[-1].get("path")
        result["paths_seen"] = sorted({s.get("path") for s in stats if s.get("path")})
        result["packets_received"] = stats[-1].get("packets_received")
    if result["connected"]:
        a_rec, b_rec = os.path.join(d, "alice_rec.wav"), os.path.join(d, "bob_rec.wav")
        c_ab = correlate(os.path.join(testdata, SPEECH_CALLER), b_rec)
        c_ba = correlate(os.path.join(testdata, SPEECH_CALLEE), a_rec)
        c_wrong = correlate(os.path.join(testdata, SPEECH_CALLER), a_rec)
        result["correlation"] = {"alice_to_bob": c_ab, "bob_to_alice": c_ba, "unrelated": c_wrong}
        result["audio_both_ways"] = c_ab > 0.6 and c_ba > 0.6 and c_wrong < min(c_ab, c_ba)
        onset_rec = speech_onset_s(a_rec) if os.path.exists(a_rec) else None
        onset_src = speech_onset_s(os.path.join(testdata, SPEECH_CALLEE))
        if onset_rec is not None and connected_at is not None:
            result["time_to_audio_s"] = round(connected_at - dialled + max(0.0, onset_rec - onset_src), 2)
        if policy == "relay-dies":
            # Audio after the cut: packets keep arriving from 3 s after it to the end.
            cut_t = result.get("relay_cut_at_s")
            after = [s for s in stats if cut_t is not None and s.get("t", 0) >= cut_t + 3]
            before = [s for s in stats if cut_t is not None and s.get("t", 0) <= cut_t]
            grew = (len(after) >= 2 and after[-1].get("packets_received", 0) > after[0].get("packets_received", 0))
            result["audio_after_cut"] = bool(grew and before)
            result["audio_both_ways"] = result["audio_both_ways"] and result["audio_after_cut"]
            if not result["audio_after_cut"]:
                result["note"] = "audio stopped when the relay's UDP was cut"
    else:
        result["error"] = result.get("error") or (alice_text.strip().splitlines() or ["no output"])[-1]
    return result


# ---------------------------------------------------------------- DPI

def classify_ndpi(build, pcap):
    binary = os.path.join(build, "tests", "netlab", "netlab_ndpi_classify")
    out = run([binary, pcap], timeout=120)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def classify_tshark(pcap):
    """Per flow (5-tuple, both directions), the union of protocol names tshark's
    dissectors and heuristics put on its frames, and any TLS SNI and JA3."""
    fields = ["ip.src", "ip.dst", "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport", "frame.protocols",
              "tls.handshake.extensions_server_name", "tls.handshake.ja3", "tls.handshake.type"]
    argv = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "separator=\t"]
    for h in ["rtp_udp", "rtcp_udp", "stun_udp", "dtls_udp", "wg", "classicstun_udp", "rtp_stun"]:
        argv += ["--enable-heuristic", h]
    for f in fields:
        argv += ["-e", f]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    flows = {}
    for line in r.stdout.splitlines():
        v = line.split("\t")
        if len(v) < len(fields) or not v[0]:
            continue
        src, dst, us, ud, ts, td, protos, sni, ja3, hstype = v[:10]
        if "," in src:  # an ICMP error quoting a packet: not a flow of its own
            continue
        l4 = "udp" if us else "tcp" if ts else "ip"
        sport, dport = (us, ud) if us else (ts, td)
        a, b = (src, sport), (dst, dport)
        key = (l4,) + (a + b if a <= b else b + a)
        fl = flows.setdefault(key, {"l4": l4, "ends": "%s:%s <-> %s:%s" % (key[1], key[2], key[3], key[4]),
                                    "protocols": set(), "sni": set(), "ja3": set(), "frames": 0,
                                    "counts": {}})
        fl["frames"] += 1
        for p in set(protos.split(":")):
            if p not in ("eth", "ethertype", "ip", "udp", "tcp", "sll", "data"):
                fl["protocols"].add(p)
                fl["counts"][p] = fl["counts"].get(p, 0) + 1
        if sni:
            fl["sni"].add(sni)
        if ja3 and "1" in hstype.split(","):
            fl["ja3"].add(ja3)
    for fl in flows.values():
        fl["protocols"] = sorted(fl["protocols"])
        fl["sni"] = sorted(fl["sni"])
        fl["ja3"] = sorted(fl["ja3"])
    return list(flows.values())


def dpi_summary(findings):
    """'clean', or a short line per (tool, what) with the number of flows."""
    if not findings:
        return "clean"
    groups = {}
    for f in findings:
        tool, _, rest = f.partition(": ")
        if " is not TLS" in rest or "not TLS" in rest:
            what = "TCP not TLS"
        elif "SNI" in rest:
            what = "wrong SNI"
        elif tool == "nDPI":
            what = rest.rsplit(" is ", 1)[-1]
        else:
            what = "/".join(re.findall(r"\d+ ([a-z0-9]+)", rest.split(" has ", 1)[-1].rsplit(" of ", 1)[0])) + " frames"
        groups[(tool, what)] = groups.get((tool, what), 0) + 1
    return "; ".join("%s: %s (%d flow%s)" % (t, w, n, "" if n == 1 else "s") for (t, w), n in sorted(groups.items()))


def dpi_verdict(build, pcaps):
    """'clean' or the list of findings, over all flows of the given captures."""
    findings, flows_out, ja3 = [], [], set()
    for pcap in pcaps:
        if not os.path.exists(pcap):
            continue
        for fl in classify_ndpi(build, pcap):
            flows_out.append(fl)
            names = [fl.get("app", ""), fl.get("master", "")]
            for bad in FORBIDDEN:
                if any(n.lower() == bad.lower() or n.lower().startswith(bad.lower() + ".") for n in names if n):
                    findings.append("nDPI: %s %s is %s" % (fl["l4"], fl["ends"], fl["proto"]))
                    break
            if fl["l4"] == "tcp" and fl.get("payload_packets", 0) > 0:
                if "TLS" not in fl["proto"]:
                    findings.append("nDPI: TCP flow %s is %s, not TLS" % (fl["ends"], fl["proto"]))
                elif fl.get("sni") != SERVER_NAME:
                    findings.append("nDPI: TLS flow %s has SNI '%s', not %s" % (fl["ends"], fl.get("sni"),
                                                                             SERVER_NAME))
        for fl in classify_tshark(pcap):
            # Strict: a single frame a dissector or heuristic takes for RTP, STUN, ... is a
            # finding (a censor may act on one packet).
            bad = sorted(set(fl["protocols"]) & TSHARK_FORBIDDEN)
            if bad:
                findings.append("tshark: %s %s has %s of %d frames" % (
                    fl["l4"], fl["ends"], ", ".join("%d %s" % (fl["counts"][b], b) for b in bad), fl["frames"]))
            if fl["l4"] == "tcp" and fl["frames"] > 3:
                if "tls" not in fl["protocols"]:
                    findings.append("tshark: TCP flow %s is not TLS (%s)" % (fl["ends"], ",".join(fl["protocols"])))
                elif fl["sni"] != [SERVER_NAME]:
                    findings.append("tshark: TLS flow %s has SNI %s" % (fl["ends"], fl["sni"]))
            ja3.update(fl["ja3"])
    return findings, flows_out, sorted(ja3)


# ---------------------------------------------------------------- browser client

def browser_unavailable(web):
    """Why the lab cannot run a browser client here, or None if it can."""
    if not shutil.which("node"):
        return "node is missing (the web client's tests need Node.js 20.19+)"
    if not os.path.exists(CHROMIUM):
        return "%s is missing; run scripts/install-deps as root" % CHROMIUM
    if not web or not os.path.exists(os.path.join(web, "index.html")):
        return "the web app is not built; run `make web`"
    if not os.path.isdir(os.path.join(HERE, "..", "..", "web", "node_modules", "playwright-core")):
        return "playwright-core is not installed; run `make web`"
    return None


def run_browser_call(lab, build, testdata, work, policy, link):
    """Chromium in cli1 signs up at the invite link and calls bob (native, cli2) under the
    current policy (tests/web_e2e/netlab_call.mjs). Returns the result dict."""
    d = os.path.join(work, policy + "-browser")
    os.makedirs(d, exist_ok=True)
    wrapper = os.path.join(work, "chromium-cli1.sh")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n# Chromium inside the lab's cli1 namespace; playwright talks to it over a pipe.\n"
                "exec ip netns exec %s %s \"$@\"\n" % (lab.ns["cli1"], CHROMIUM))
    os.chmod(wrapper, 0o755)
    caps = [Capture(lab, "cli1", os.path.join(d, "cli1.pcap")), Capture(lab, "cli2", os.path.join(d, "cli2.pcap"))]
    result = {"policy": policy, "client": "browser", "connected": False, "audio_both_ways": False,
              "time_to_audio_s": None, "path": None, "dir": d}
    try:
        p = subprocess.run(["node", os.path.join(WEB_E2E, "netlab_call.mjs"), "--link", link,
                            "--native-ns", lab.ns["cli2"], "--parley", os.path.join(build, "apps", "parley", "parley"),
                            "--profile", os.path.join(work, "bob"), "--native-name", "bob",
                            "--browser-name", "web-" + policy, "--testdata", testdata, "--work", d],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180,
                           env=dict(os.environ, PARLEY_CHROMIUM=wrapper))
        with open(os.path.join(d, "netlab_call.log"), "w") as f:
            f.write(p.stdout)
        lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
        call = json.loads(lines[-1]) if lines else {"error": (p.stdout.strip().splitlines() or ["no output"])[-1]}
    except subprocess.TimeoutExpired:
        call = {"error": "the browser call did not finish within 180 s"}
    for c in caps:
        c.stop()
    result["call"] = call
    if call.get("connected_after_ms") is not None:
        result["connected"] = True
        result["connect_s"] = round(call["connected_after_ms"] / 1000.0, 2)
        result["path"] = (call.get("quality") or {}).get("path")
        result["fingerprints_equal"] = call.get("fingerprints_equal")
        result["correlation"] = {"browser_to_bob": call.get("correlation_browser_to_native"),
                                 "bob_to_browser": call.get("correlation_native_to_browser"),
                                 "unrelated": call.get("correlation_browser_unrelated")}
        result["audio_both_ways"] = bool(call.get("audio_ok"))
        heard = os.path.join(d, "browser_heard_a.wav")
        onset_rec = speech_onset_s(heard) if os.path.exists(heard) else None
        onset_src = speech_onset_s(os.path.join(testdata, SPEECH_CALLEE))
        if onset_rec is not None and onset_src is not None:
            # The page records from "in call" on, so its onset counts from there (after the
            # silence calls.mjs puts in front of the recording).
            onset_rec -= call.get("browser_recording_lead_in_s", 0)
            result["time_to_audio_s"] = round(result["connect_s"] + max(0.0, onset_rec - onset_src), 2)
    if call.get("error"):
        result["error"] = call["error"]
    elif not call.get("fingerprints_equal") or call.get("native_exit") != 0:
        result["error"] = "fingerprints equal: %s, native exit %s" % (call.get("fingerprints_equal"),
                                                                     call.get("native_exit"))
    return result


# ---------------------------------------------------------------- prober

def run_prober(lab, build, server, work, replay_pcap):
    d = os.path.join(work, "prober")
    os.makedirs(d, exist_ok=True)
    replays = os.path.join(d, "replays.hex")
    out = run(["tshark", "-n", "-r", replay_pcap, "-Y", "ip.dst==%s && udp.dstport==%d" % (SRV_IP, RELAY_PORT),
               "-T", "fields", "-e", "udp.payload"], check=False, timeout=120, quiet_stderr=True)
    with open(replays, "w") as f:
        f.write(out)
    cap = Capture(lab, "prb", os.path.join(d, "prb.pcap"))
    p = lab.spawn(lab.ns["prb"], [sys.executable, os.path.join(HERE, "prober.py"), "--server", SRV_IP,
                                  "--name", SERVER_NAME, "--udp-port", str(RELAY_PORT), "--tls-port", str(TLS_PORT),
                                  "--ws-path", server.ws_path, "--replays", replays, "--out",
                                  os.path.join(d, "prober.json")], os.path.join(d, "prober.log"))
    p.wait(300)
    cap.stop()
    if not os.path.exists(os.path.join(d, "prober.json")):
        raise Failed("the prober failed: " + open(os.path.join(d, "prober.log")).read()[-2000:])
    res = json.load(open(os.path.join(d, "prober.json")))
    # What the relay sent to the prober, from the capture (not from the prober's sockets).
    out = run(["tshark", "-n", "-r", os.path.join(d, "prb.pcap"), "-Y",
               "ip.src==%s && udp.srcport==%d" % (SRV_IP, RELAY_PORT), "-T", "fields", "-e", "udp.dstport"],
              check=False, timeout=120, quiet_stderr=True)
    ports = [x for x in out.split() if x]
    res["udp_packets_from_relay"] = len(ports)
    res["udp_answers_to_random"] = ports.count("40001")
    res["udp_answers_to_replays"] = ports.count("40002")
    return res


def run_live_replay(lab, build, testdata, work, censor):
    """A call under no censor during which the prober replays the caller's first packets
    from its own address (2 s after connect). The relay must send the prober nothing,
    and the call must keep its audio."""
    state = {}

    def replay(d):
        def worker():
            time.sleep(2.0)
            pd = os.path.join(work, "prober")
            os.makedirs(pd, exist_ok=True)
            replays = os.path.join(pd, "live_replays.hex")
            out = run(["tshark", "-n", "-r", os.path.join(d, "cli1.pcap"), "-Y",
                       "ip.dst==%s && udp.dstport==%d" % (SRV_IP, RELAY_PORT), "-T", "fields", "-e", "udp.payload"],
                      check=False, timeout=60, quiet_stderr=True)
            with open(replays, "w") as f:
                f.write(out)
            cap = Capture(lab, "prb", os.path.join(pd, "live_replay.pcap"))
            p = lab.spawn(lab.ns["prb"], [sys.executable, os.path.join(HERE, "prober.py"), "--server", SRV_IP,
                                          "--name", SERVER_NAME, "--udp-port", str(RELAY_PORT), "--tls-port",
                                          str(TLS_PORT), "--ws-path", "/", "--replays", replays, "--replays-only",
                                          "--out", os.path.join(pd, "live_replay.json")],
                          os.path.join(pd, "live_replay.log"))
            p.wait(60)
            cap.stop()
            out = run(["tshark", "-n", "-r", os.path.join(pd, "live_replay.pcap"), "-Y",
                       "ip.src==%s && udp.srcport==%d" % (SRV_IP, RELAY_PORT), "-T", "fields", "-e", "frame.len"],
                      check=False, timeout=60, quiet_stderr=True)
            state["answers"] = len(out.split())
            try:
                state["sent"] = json.load(open(os.path.join(pd, "live_replay.json")))["udp_live_replays_sent"]
            except (OSError, ValueError, KeyError):
                state["sent"] = 0
        t = threading.Thread(target=worker, daemon=True)
        t.start()
        state["thread"] = t

    r = run_call(lab, build, testdata, work, "live-replay", censor, on_connected=replay)
    if "thread" in state:
        state["thread"].join(90)
    return {"udp_live_replays_sent": state.get("sent", 0), "udp_answers_to_live_replays": state.get("answers"),
            "call_kept_audio": r["audio_both_ways"], "correlation": r.get("correlation")}


# ---------------------------------------------------------------- report

POLICY_TEXT = {
    "open": "No censor: the baseline.",
    "no-udp": "Drops all UDP (Iran 2022-25, net4people/bbs #182, #253, #489).",
    "udp-443-only": "UDP only to or from port 443, TCP only to or from 80/443 (port allowlists).",
    "signatures": "NFQUEUE DPI: a flow whose first 8 payload packets each way include STUN (length+20 = size, "
                  "cookie 0x2112A442), RTP-looking (0x80/0xA0 + payload type <=34 or 96-127), DTLS `16 fe fd`, "
                  "WireGuard (type 1-4 + 3 zero bytes) or MTProto (0xef / 12 x 0xff) is dropped from then on.",
    "fully-encrypted": "The GFW rule (Wu et al., USENIX Security 2023) on each TCP flow's first client payload: "
                       "Ex1-Ex5 exemptions, else blocked with p = 0.263 and the (client, server, port) triple "
                       "dropped for 180 s.",
    "allowlist": "Iran 2020 protocol filter (Bock et al., FOCI'20): on TCP 53/80/443 only flows whose first "
                 "payload looks like DNS, HTTP or TLS pass; others are dropped and the triple penalised 60 s.",
    "throttle": "Every client limited to 64 kbit/s each way (tc tbf).",
    "relay-dies": "The relay's UDP is blocked %.0f s into the call (IP blocklist mid-call)." % RELAY_DIES_AT_S,
}


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def source_revision():
    """The commit the lab's binaries were built from, as far as git can tell: which code a
    report describes ("+ local changes" when the tree had uncommitted edits)."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        rev = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no", "--", ":/src",
                                ":/apps"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "an unknown revision"
    if not rev:
        return "an unknown revision"
    return "commit %s%s" % (rev, " + local changes to src/ or apps/" if dirty else "")


def write_report(path, results, prober, ja3, bounded, started, browser_results=(), browser_note=None):
    lines = ["# The censor lab", "",
             "Generated by `make netlab` (tests/netlab/netlab.py) on %s from %s; do not edit by hand." %
             (time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)), source_revision()), "",
             "Real `parleyd` and `parley` processes in network namespaces: two clients and the server behind a "
             "censor router (rules in its FORWARD path, iptables/nftables, NFQUEUE programs and tc tbf). For each "
             "policy alice (cli1) calls bob (cli2) with `--in` speech, both record, and the lab checks that the "
             "call connects without user action, that each recording correlates with what the far end sent "
             "(tests/integration/correlate.py, > 0.6), the time from dial to the first audio the caller hears "
             "(connect time + speech onset in the recording - onset in the source; about +-50 ms), the path "
             "from `parley --stats`, and a passive DPI verdict: the capture on the censor router classified with "
             "nDPI 4.2 (tests/netlab/ndpi_flow_classifier.cc) and tshark 4.0 with the RTP/RTCP/STUN/DTLS/"
             "WireGuard heuristics on. A flow named STUN, RTP/RTCP, SRTP, DTLS, Telegram, WhatsApp, Signal, "
             "WireGuard or any VoIP protocol fails the check, and so does a TCP flow that is not TLS with SNI "
             "`%s`." % SERVER_NAME, "",
             "| policy | connected | audio both ways | time to audio (s) | path | DPI verdict | target |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        exp = expectations.FULL[r["policy"]]
        target = "connects, audio <= %.0f s, DPI clean" % exp["time_to_audio_s"]
        dpi = dpi_summary(r.get("dpi_findings"))
        conn = fmt(r["connected"]) if "error" not in r else "no (%s)" % r["error"][:120].replace("|", "/")
        audio = fmt(r["audio_both_ways"]) + (" (%s)" % r["note"] if r.get("note") else "")
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r["policy"], conn, audio, fmt(r["time_to_audio_s"]),
            fmt(r["path"]), dpi, target))
    lines += ["", "*connected*: the caller printed \"Connected\" (signaling and keys done); *audio both ways*: both "
              "recordings correlate with the far end's speech (for relay-dies: and packets still arrive 3 s after the "
              "cut); *path*: the last `path` in the caller's `--stats`; *DPI verdict*: findings per tool with the "
              "number of flows (details in `--json`); tshark counts a flow if any frame dissects as RTP, RTCP, STUN, "
              "DTLS, WireGuard or a VoIP protocol."]
    if browser_results or browser_note:
        lines += ["", "## The web client", "",
                  "The same lab with a browser at one end (issue #9): Debian's Chromium runs headless inside cli1 "
                  "(a wrapper around `ip netns exec`; playwright-core drives it over a pipe, "
                  "tests/web_e2e/netlab_call.mjs), opens the invite link `https://%s/<invite>/` that parleyd serves, "
                  "signs up, and calls bob (the native client in cli2), its fake microphone playing %s. Media goes "
                  "over the WebSocket on the TLS front, the browser's only path; the relay bridges it to bob on "
                  "whichever path bob's client picks. *connect*: dial to \"in call\" on the page; *time to audio*: "
                  "connect + the speech onset in what the page played; *audio both ways*: what the page played "
                  "and what bob recorded correlate with the far end's speech (correlate.py on 4 s from 4 s into the "
                  "call, > 0.6; the 10 s call leaves bob's move to relay-tls out of the judged part); *fingerprints*: the page's "
                  "emoji and words equal the CLI's." % (SERVER_NAME, SPEECH_CALLER), ""]
        if browser_note:
            lines.append("Not run: %s." % browser_note)
        else:
            lines += ["| policy | connected | audio both ways | connect (s) | time to audio (s) | path (page) | "
                      "fingerprints equal | DPI verdict | target |",
                      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
            for r in browser_results:
                exp = expectations.BROWSER_FULL[r["policy"]]
                target = "connects, audio <= %.0f s, DPI clean" % exp["time_to_audio_s"]
                conn = fmt(r["connected"]) if "error" not in r else "no (%s)" % r["error"][:120].replace("|", "/")
                corr = r.get("correlation") or {}
                audio = fmt(r["audio_both_ways"]) + (" (%s / %s)" % (corr.get("browser_to_bob"), corr.get("bob_to_browser"))
                                                     if corr else "")
                lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    r["policy"], conn, audio, fmt(r.get("connect_s")), fmt(r["time_to_audio_s"]), fmt(r["path"]),
                    fmt(r.get("fingerprints_equal")), dpi_summary(r.get("dpi_findings")), target))
    lines += ["", "What each policy models (threats and sources: notes/censorship.md, issue #5):", ""]
    for r in results:
        lines.append("- **%s**: %s" % (r["policy"], POLICY_TEXT[r["policy"]]))
    if ja3:
        lines += ["", "Client TLS fingerprints seen (JA3, tshark): " + ", ".join("`%s`" % j for j in ja3) + "."]
    if prober:
        lines += ["", "## Active prober", "",
                  "From a fourth namespace, tests/netlab/prober.py sends to the server's ports: random datagrams "
                  "of 1 B to 8 KiB and replays of the caller's recorded packets to the UDP relay, and over TCP "
                  "random bytes, a plain HTTP request, a bare TLS handshake, GETs of a random path and of the "
                  "WebSocket path without upgrade, and an upgrade on a wrong path. The relay must answer none "
                  "(counted in the capture on the censor router); the TLS front must answer every probe as the "
                  "decoy website answers an unauthenticated GET of a random path (bytes apart from `Date`, and "
                  "connection close behaviour).", "",
                  "| probe | result | expected |", "| --- | --- | --- |"]
        lines.append("| %d random UDP datagrams (1 B - 8 KiB) to the relay | %d packets back | 0 |" % (
            prober.get("udp_random_sent", 0), prober["udp_answers_to_random"]))
        lines.append("| %d replays of the caller's recorded packets after the call, from another address | %d packets back | 0 |" % (
            prober.get("udp_replays_sent", 0), prober["udp_answers_to_replays"]))
        live = prober.get("live")
        if live:
            lines.append("| %d of the caller's packets replayed from another address 2 s into a live call | %s "
                         "packets back; the call %s its audio | 0, audio kept |" % (
                             live["udp_live_replays_sent"], live["udp_answers_to_live_replays"],
                             "kept" if live["call_kept_audio"] else "lost"))
        for c in prober.get("tcp", []):
            lines.append("| %s | %s | %s |" % (c["probe"], c["observed"].replace("|", "/"),
                                               c["expected"].replace("|", "/")))
    lines += ["", "## Rerun", "",
              "    make netlab            # as root: every policy, the prober, this file",
              "    ctest -R netlab        # the bounded run inside `make test`",
              "",
              "`make test` runs a bounded lab (%s) asserting only what works today; the full expectation table is "
              "tests/netlab/expectations.py: tighten an entry in the change that makes it pass." %
              ", ".join(expectations.BOUNDED_POLICIES),
              "Run as root on a machine with network namespaces; otherwise the lab is skipped with a message. "
              "Logs, captures and recordings of the last run are kept with `--keep`."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------- main

def check(results, prober, bounded, browser_results=()):
    table = expectations.BOUNDED if bounded else expectations.FULL
    browser_table = expectations.BROWSER_BOUNDED if bounded else expectations.BROWSER_FULL
    failures = []
    for r in list(results) + list(browser_results):
        exp = (browser_table if r.get("client") == "browser" else table).get(r["policy"], {})
        if exp.get("connect") and not (r["connected"] and r["audio_both_ways"]):
            failures.append("%s%s: the call did not connect with audio both ways (%s)" % (
                r["policy"], " (browser)" if r.get("client") == "browser" else "",
                r.get("error", "correlation %s" % r.get("correlation"))))
        if r.get("client") == "browser" and exp.get("connect") and r["connected"] and not r.get("fingerprints_equal"):
            failures.append("%s (browser): the page's fingerprint differs from the CLI's" % r["policy"])
        t = exp.get("time_to_audio_s")
        if t is not None and r["connected"] and (r["time_to_audio_s"] is None or r["time_to_audio_s"] > t):
            failures.append("%s: time to audio %s s, expected <= %s s" % (r["policy"], r["time_to_audio_s"], t))
        if exp.get("dpi_clean") and r.get("dpi_findings"):
            failures.append("%s: DPI found %s" % (r["policy"], "; ".join(r["dpi_findings"][:5])))
    if prober:
        pexp = expectations.PROBER_BOUNDED if bounded else expectations.PROBER_FULL
        if pexp.get("udp_silent_random") and prober["udp_answers_to_random"]:
            failures.append("prober: the relay answered random datagrams with %d packets" %
                            prober["udp_answers_to_random"])
        if pexp.get("udp_silent_replay") and prober["udp_answers_to_replays"]:
            failures.append("prober: the relay sent %d packets to the replaying prober" %
                            prober["udp_answers_to_replays"])
        live = prober.get("live", {})
        if pexp.get("udp_silent_replay") and (live.get("udp_answers_to_live_replays") or
                                              not live.get("call_kept_audio", True)):
            failures.append("prober: replaying the caller's packets mid-call made the relay send %s packets to the "
                            "prober (call kept audio: %s)" % (live.get("udp_answers_to_live_replays"),
                                                              live.get("call_kept_audio")))
        if pexp.get("tls_like_decoy"):
            for c in prober.get("tcp", []):
                if not c["ok"]:
                    failures.append("prober: %s: %s (expected %s)" % (c["probe"], c["observed"], c["expected"]))
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--testdata", required=True)
    ap.add_argument("--bounded", action="store_true", help="the short run of make test (expectations.BOUNDED)")
    ap.add_argument("--policies", help="comma-separated subset")
    ap.add_argument("--no-prober", action="store_true")
    ap.add_argument("--report", help="write the Markdown report here")
    ap.add_argument("--json", help="write the raw results here")
    ap.add_argument("--keep", action="store_true", help="keep logs, captures and recordings")
    ap.add_argument("--web", default=os.path.join(HERE, "..", "..", "build", "web"),
                    help="the built web app (make web) for the browser calls")
    ap.add_argument("--no-browser", action="store_true", help="no browser calls")
    args = ap.parse_args()

    if os.geteuid() != 0:
        print("netlab: SKIPPED: the censor lab needs root (network namespaces, nftables); run `sudo make netlab`.")
        return SKIP
    if subprocess.run(["ip", "netns", "list"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        print("netlab: SKIPPED: `ip netns` does not work here (no iproute2 or no namespace support).")
        return SKIP
    for tool in ["nft", "iptables", "tcpdump", "tshark", "tc"]:
        if not shutil.which(tool):
            print("netlab: SKIPPED: %s is missing; run scripts/install-deps as root." % tool)
            return SKIP
    for b in ["apps/parley/parley", "apps/parleyd/parleyd", "tests/netlab/netlab_censor",
              "tests/netlab/netlab_ndpi_classify"]:
        if not os.path.exists(os.path.join(args.build, b)):
            print("netlab: FAILED: %s is not built; build it first." % os.path.join(args.build, b))
            return 1
    for s in [SPEECH_CALLER, SPEECH_CALLEE]:
        if not os.path.exists(os.path.join(args.testdata, s)):
            print("netlab: FAILED: %s is missing; run `make speech`." % os.path.join(args.testdata, s))
            return 1

    policies = (args.policies.split(",") if args.policies else
                expectations.BOUNDED_POLICIES if args.bounded else expectations.POLICIES)
    browser_policies, browser_note = [], None
    if not args.no_browser:
        wanted = expectations.BROWSER_BOUNDED_POLICIES if args.bounded else expectations.BROWSER_POLICIES
        browser_policies = [p for p in policies if p in wanted]
        browser_note = browser_unavailable(os.path.abspath(args.web)) if browser_policies else None
        if browser_note:
            log("netlab: no browser calls: " + browser_note)
            browser_policies = []
    started = time.time()
    work = tempfile.mkdtemp(prefix="parley_netlab.")
    lab = Lab(work)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)

    results, prober, ja3, failures, browser_results = [], None, [], [], []
    ok = False
    try:
        lab.setup()
        log("netlab: namespaces %s-*; work in %s" % (lab.tag, work))
        server = Server(lab, args.build, work, os.path.abspath(args.web) if browser_policies else None)
        server.start()
        invite_link = server.make_invite() if browser_policies else None
        for who, ns in [("alice", "cli1"), ("bob", "cli2")]:
            lab.nsrun(lab.ns[ns], parley(lab, args.build, who, work, ["init", "--server", server.ws, "--name", who]),
                      timeout=60)
        censor = Censor(lab, args.build)
        all_ja3 = set()
        for policy in policies:
            server.stop()
            server.start()  # fresh login limits and relay sessions for every policy
            censor.clear()
            censor.apply(policy, work)
            t0 = time.monotonic()
            r = run_call(lab, args.build, args.testdata, work, policy, censor)
            with open(os.path.join(r["dir"], "censor_rules.txt"), "w") as f:
                f.write(lab.nsrun(lab.ns["cen"], ["nft", "list", "ruleset"], check=False))
            censor.clear()
            findings, flows, ja3s = dpi_verdict(args.build, [os.path.join(r["dir"], "cli1.pcap"),
                                                             os.path.join(r["dir"], "cli2.pcap")])
            all_ja3.update(ja3s)
            r["dpi_findings"] = findings
            r["flows"] = flows
            r["wall_s"] = round(time.monotonic() - t0, 1)
            results.append(r)
            log("netlab: %-16s connected=%s audio=%s time_to_audio=%s path=%s dpi=%s %s" % (
                policy, fmt(r["connected"]), fmt(r["audio_both_ways"]), fmt(r["time_to_audio_s"]), fmt(r["path"]),
                dpi_summary(findings),
                ("(" + r["error"] + ")") if "error" in r else ""))
            if policy == "open" and not args.no_prober:
                prober = run_prober(lab, args.build, server, work, os.path.join(r["dir"], "cli1.pcap"))
                server.stop()
                server.start()
                prober["live"] = run_live_replay(lab, args.build, args.testdata, work, censor)
                log("netlab: live replay: %s packets replayed mid-call, relay sent %s to the prober, call kept "
                    "audio: %s" % (prober["live"]["udp_live_replays_sent"],
                                   prober["live"]["udp_answers_to_live_replays"],
                                   fmt(prober["live"]["call_kept_audio"])))
                log("netlab: prober: relay answered %d random, %d replayed; %s" % (
                    prober["udp_answers_to_random"], prober["udp_answers_to_replays"],
                    "; ".join("%s: %s" % (c["probe"], "ok" if c["ok"] else c["observed"]) for c in prober["tcp"])))
            if policy in browser_policies:
                server.stop()
                server.start()
                censor.apply(policy, work)
                t0 = time.monotonic()
                b = run_browser_call(lab, args.build, args.testdata, work, policy, invite_link)
                censor.clear()
                findings, flows, ja3s = dpi_verdict(args.build, [os.path.join(b["dir"], "cli1.pcap"),
                                                                 os.path.join(b["dir"], "cli2.pcap")])
                all_ja3.update(ja3s)
                b["dpi_findings"], b["flows"], b["wall_s"] = findings, flows, round(time.monotonic() - t0, 1)
                browser_results.append(b)
                log("netlab: %-16s browser: connected=%s audio=%s connect=%s time_to_audio=%s path=%s "
                    "fingerprints_equal=%s dpi=%s %s" % (
                        policy, fmt(b["connected"]), fmt(b["audio_both_ways"]), fmt(b.get("connect_s")),
                        fmt(b["time_to_audio_s"]), fmt(b["path"]), fmt(b.get("fingerprints_equal")),
                        dpi_summary(findings), ("(" + b["error"] + ")") if "error" in b else ""))
        ja3 = sorted(all_ja3)
        failures = check(results, prober, args.bounded, browser_results)
        ok = not failures
    except KeyboardInterrupt as e:
        failures.append("interrupted (%s)" % e)
    except Failed as e:
        failures.append(str(e))
    finally:
        lab.teardown()
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"results": results, "prober": prober, "ja3": ja3, "browser": browser_results}, f, indent=1,
                          default=str)
        if args.report and results:
            write_report(args.report, results, prober, ja3, args.bounded, started, browser_results, browser_note)
        if not args.keep and ok:
            shutil.rmtree(work, ignore_errors=True)
        elif not ok:
            log("netlab: logs, captures and recordings kept in %s" % work)
    for f in failures:
        log("netlab: FAIL: " + f)
    log("netlab: %s in %.0f s" % ("PASS" if ok else "FAIL", time.time() - started))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
