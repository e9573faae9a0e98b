#!/usr/bin/env python3
"""Abusive signaling clients for signaling_abuse_test.sh, on 127.0.0.1 only.

  half_open.py flood HOST:PORT/PATH N WAIT_S   N each of: TCP only, TLS ClientHello never
      finished, TLS done but the WebSocket upgrade never finished, WebSocket open but no
      hello; then waits up to WAIT_S for the server to close them. Prints one JSON line.
  half_open.py json HOST:PORT/PATH KIND        sends one bad message (deep | oversized) on an
      open WebSocket and prints what the server answered (text frames, then the close).
"""
import base64
import json
import os
import select
import socket
import ssl
import struct
import sys
import time


def parse(target):
    hostport, path = target.removeprefix("wss://").split("/", 1)
    host, port = hostport.rsplit(":", 1)
    assert host == "127.0.0.1", "only 127.0.0.1"
    return host, int(port), "/" + path


def tls_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def tls_connect(host, port):
    raw = socket.create_connection((host, port), timeout=5)
    return tls_context().wrap_socket(raw, server_hostname="localhost")


def upgrade_request(path, host, port, complete=True):
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
    return (request + "\r\n").encode() if complete else request.encode()


def ws_open(host, port, path):
    s = tls_connect(host, port)
    s.sendall(upgrade_request(path, host, port))
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("closed during the upgrade")
        response += chunk
    if not response.startswith(b"HTTP/1.1 101"):
        raise RuntimeError("upgrade refused: " + response.split(b"\r\n")[0].decode())
    return s


def ws_send(s, text):
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    elif len(payload) < 65536:
        header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
    s.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def ws_frames(s, wait_s):
    """Frames until the server closes (or wait_s passes): [(opcode, payload)]."""
    s.settimeout(wait_s)
    data, frames = b"", []
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            while len(data) >= 2:
                length, offset = data[1] & 0x7F, 2
                if length == 126:
                    length, offset = struct.unpack(">H", data[2:4])[0], 4
                elif length == 127:
                    length, offset = struct.unpack(">Q", data[2:10])[0], 10
                if len(data) < offset + length:
                    break
                frames.append((data[0] & 0x0F, data[offset:offset + length]))
                data = data[offset + length:]
            if frames and frames[-1][0] == 8:
                break
    except (socket.timeout, ssl.SSLError, ConnectionError):
        pass
    return frames


def flood(target, n, wait_s):
    host, port, path = parse(target)
    kinds = {"tcp": [], "tls_hello_unfinished": [], "upgrade_unfinished": [], "websocket_no_hello": []}
    refused = {k: 0 for k in kinds}
    for _ in range(n):
        try:
            kinds["tcp"].append(socket.create_connection((host, port), timeout=5))
        except OSError:
            refused["tcp"] += 1
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]))  # a ClientHello's start
            kinds["tls_hello_unfinished"].append(s)
        except OSError:
            refused["tls_hello_unfinished"] += 1
        try:
            s = tls_connect(host, port)
            s.sendall(upgrade_request(path, host, port, complete=False))
            kinds["upgrade_unfinished"].append(s)
        except (OSError, ssl.SSLError):
            refused["upgrade_unfinished"] += 1
        try:
            kinds["websocket_no_hello"].append(ws_open(host, port, path))
        except (OSError, ssl.SSLError, RuntimeError):
            refused["websocket_no_hello"] += 1
    start = time.monotonic()
    open_sockets = {s: k for k, sockets in kinds.items() for s in sockets}
    closed_after = {k: [] for k in kinds}
    for s in open_sockets:
        s.setblocking(False)
    while open_sockets and time.monotonic() - start < wait_s:
        readable, _, _ = select.select(list(open_sockets), [], [], 0.2)
        for s in readable:
            try:
                data = s.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError):
                data = b""
            if data:
                continue  # e.g. a close frame; the TCP close follows
            closed_after[open_sockets.pop(s)].append(time.monotonic() - start)
            s.close()
    result = {"opened": {k: len(v) for k, v in kinds.items()}, "refused_at_once": refused,
              "shed": {k: len(v) for k, v in closed_after.items()},
              "still_open": len(open_sockets),
              "slowest_shed_s": round(max([t for v in closed_after.values() for t in v] or [0]), 2)}
    print(json.dumps(result))


def bad_json(target, kind):
    host, port, path = parse(target)
    s = ws_open(host, port, path)
    try:
        if kind == "deep":
            ws_send(s, '{"type":"hello","x":' + "[" * 20000 + "]" * 20000 + "}")
        else:  # just over signaling.max_message_bytes (64 KiB by default)
            ws_send(s, '{"type":"hello","pad":"' + "x" * (70 * 1024) + '"}')
    except (OSError, ssl.SSLError) as e:
        print("send failed:", e)  # the server may close before the whole message is written
    for opcode, payload in ws_frames(s, 5):
        if opcode == 1:
            print("text:", payload.decode(errors="replace"))
        elif opcode == 8:
            code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 0
            print("close:", code, payload[2:].decode(errors="replace"))


if __name__ == "__main__":
    if sys.argv[1] == "flood":
        flood(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        bad_json(sys.argv[2], sys.argv[3])
