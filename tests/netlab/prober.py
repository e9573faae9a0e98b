#!/usr/bin/env python3
"""The censor lab's active prober (runs inside the prober namespace): what a censor
that suspects the server sends to it, and what comes back.

UDP relay: random datagrams of 1 B to 8 KiB from source port 40001 and replays of a
real client's recorded packets from source port 40002 (the lab counts the relay's
answers in its own capture). TLS front: the answer to an unauthenticated GET of a
random path is the reference; the WebSocket path without upgrade and an upgrade on a
wrong path must get the same bytes apart from Date; plain HTTP, a bare handshake and
random bytes are recorded (bytes back, how and when the connection closed).
Writes one JSON object to --out.
"""
import argparse
import json
import os
import random
import re
import socket
import ssl
import time

RANDOM_UDP_PORT, REPLAY_UDP_PORT = 40001, 40002
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def udp_probes(server, port, replays_file):
    rnd = random.Random()
    sent = 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", RANDOM_UDP_PORT))
    for size in [1, 2, 7, 16, 20, 40, 64, 100, 148, 200, 512, 1000, 1200, 1400, 1472, 2000, 4096, 8192]:
        for _ in range(3):
            s.sendto(os.urandom(size), (server, port))
            sent += 1
        time.sleep(0.01)
    for _ in range(30):
        s.sendto(os.urandom(rnd.randint(1, 8192)), (server, port))
        sent += 1
    replays = 0
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("0.0.0.0", REPLAY_UDP_PORT))
    if replays_file and os.path.exists(replays_file):
        packets = [bytes.fromhex(x.strip().replace(":", "")) for x in open(replays_file) if x.strip()]
        for p in packets[:40] + packets[-40:]:
            r.sendto(p, (server, port))
            replays += 1
            time.sleep(0.005)
    # Anything the relay says comes back within a round trip; the capture counts it.
    deadline = time.monotonic() + 2.0
    answers = 0
    for sock in (s, r):
        sock.settimeout(0.2)
    while time.monotonic() < deadline:
        for sock in (s, r):
            try:
                sock.recv(65536)
                answers += 1
            except (socket.timeout, ConnectionRefusedError):
                pass
    return {"udp_random_sent": sent, "udp_replays_sent": replays, "udp_answers_seen_by_prober": answers}


def replay_probes(server, port, replays_file):
    """Replays a live call's client packets from another address, then listens: a relay
    that accepts a replayed bind starts forwarding the far end's media here."""
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("0.0.0.0", REPLAY_UDP_PORT))
    packets = [bytes.fromhex(x.strip().replace(":", "")) for x in open(replays_file) if x.strip()]
    for p in packets[:20]:
        r.sendto(p, (server, port))
        time.sleep(0.01)
    r.settimeout(0.2)
    answers = 0
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        try:
            r.recv(65536)
            answers += 1
        except socket.timeout:
            pass
    return {"udp_live_replays_sent": min(len(packets), 20), "udp_answers_seen_by_prober": answers}


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def read_http_response(sock, timeout=3.0):
    """One HTTP/1.1 response (headers + Content-Length body) or what came before a close."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return data, "closed"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        need = int(m.group(1)) if m else 0
        while len(body) < need:
            chunk = sock.recv(65536)
            if not chunk:
                return data, "closed"
            body += chunk
            data += chunk
    except socket.timeout:
        return data, "timeout"
    except (ConnectionResetError, ssl.SSLError) as e:
        return data, "reset" if isinstance(e, ConnectionResetError) else "tls-error"
    return data, "complete"


def close_behaviour(sock, seconds):
    """How the server ends an idle connection: 'fin after X s', 'rst after X s' or 'open after X s'."""
    t0 = time.monotonic()
    sock.settimeout(seconds)
    got = 0
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return "fin after %.1f s" % (time.monotonic() - t0), got
            got += len(chunk)
    except socket.timeout:
        return "open after %.0f s" % seconds, got
    except ConnectionResetError:
        return "rst after %.1f s" % (time.monotonic() - t0), got
    except ssl.SSLError as e:
        return "tls error %s after %.1f s" % (e.reason, time.monotonic() - t0), got
    except OSError as e:
        return "error %s" % e, got


def normalise(response):
    return re.sub(rb"(?im)^date: [^\r\n]*\r\n", b"", response)


def tls_request(server, port, name, request, idle_s):
    raw = socket.create_connection((server, port), timeout=5)
    s = tls_context().wrap_socket(raw, server_hostname=name)
    s.sendall(request)
    response, how = read_http_response(s)
    after, _ = close_behaviour(s, idle_s) if how == "complete" else (how, 0)
    s.close()
    return response, after


def get(path, name, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n%s\r\n" % (path, name, UA, extra)).encode()


def tcp_probes(server, port, name, ws_path, idle_s):
    checks = []
    rand_path = "/" + os.urandom(6).hex()
    ref, ref_close = tls_request(server, port, name, get(rand_path, name), idle_s)
    status = ref.split(b"\r\n", 1)[0].decode(errors="replace")
    checks.append({"probe": "GET random path over TLS (the reference)", "observed": "%s, %d bytes, then %s" % (
        status, len(ref), ref_close), "expected": "an HTTP answer from the decoy site", "ok": ref.startswith(b"HTTP/1.1 ")})

    def same_as_ref(label, request):
        got, close = tls_request(server, port, name, request, idle_s)
        same = normalise(got) == normalise(ref) and close == ref_close
        first = got.split(b"\r\n", 1)[0].decode(errors="replace")
        checks.append({"probe": label, "observed": "%s, %d bytes, then %s%s" % (
            first, len(got), close, "" if same else " (differs from the reference)"),
            "expected": "same bytes apart from Date, same close", "ok": same})

    other = "/" + os.urandom(6).hex()
    same_as_ref("GET another random path", get(other, name))
    same_as_ref("GET the WebSocket path without upgrade", get(ws_path, name))
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    same_as_ref("WebSocket upgrade on a wrong path", get(
        "/ws/" + os.urandom(8).hex(), name,
        "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n" % key))

    # A bare TLS handshake, then nothing: the server waits as for a slow browser.
    raw = socket.create_connection((server, port), timeout=5)
    s = tls_context().wrap_socket(raw, server_hostname=name)
    alpn = s.selected_alpn_protocol()
    how, got = close_behaviour(s, idle_s)
    s.close()
    checks.append({"probe": "bare TLS ClientHello (ALPN h2,http/1.1), then silence",
                   "observed": "handshake done, ALPN %s, %d bytes, %s" % (alpn, got, how),
                   "expected": "handshake done, nothing sent, open", "ok": got == 0 and how.startswith("open")})

    # Plain HTTP to the TLS port (nginx would answer 400 "plain HTTP request was sent to HTTPS port").
    raw = socket.create_connection((server, port), timeout=5)
    raw.sendall(get("/", name))
    how, got = close_behaviour(raw, idle_s)
    raw.close()
    checks.append({"probe": "plain HTTP GET to the TLS port", "observed": "%d bytes back, %s" % (got, how),
                   "expected": "recorded (nginx: 400 page)", "ok": True})

    # Random bytes of growing size: how many bytes the server reads before it reacts
    # (Frolov et al., NDSS'20). Recorded, not asserted: OpenSSL's own behaviour.
    for size in [1, 4, 5, 16, 64, 517, 1024, 8192]:
        raw = socket.create_connection((server, port), timeout=5)
        raw.sendall(os.urandom(size))
        how, got = close_behaviour(raw, min(idle_s, 3.0))
        raw.close()
        checks.append({"probe": "%d random bytes over TCP" % size, "observed": "%d bytes back, %s" % (got, how),
                       "expected": "recorded", "ok": True})
    return checks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--udp-port", type=int, required=True)
    ap.add_argument("--tls-port", type=int, required=True)
    ap.add_argument("--ws-path", required=True)
    ap.add_argument("--replays")
    ap.add_argument("--idle-seconds", type=float, default=3.0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--replays-only", action="store_true", help="only replay the recorded packets (mid-call)")
    a = ap.parse_args()
    if a.replays_only:
        res = replay_probes(a.server, a.udp_port, a.replays)
    else:
        res = udp_probes(a.server, a.udp_port, a.replays)
        res["tcp"] = tcp_probes(a.server, a.tls_port, a.name, a.ws_path, a.idle_seconds)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
