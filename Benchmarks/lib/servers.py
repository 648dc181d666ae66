#!/usr/bin/env python3
"""Loopback HTTP/1.1 servers for the AllianceHub benchmarks (standard library only).

  servers.py receiver --secret S   a webhook receiver: answers 200 at once, checks X-Hub-Signature, counts
                                   deliveries (and repeats, by Idempotency-Key) and how late each arrived
                                   (now - the ping's sent_at); GET /__stats answers the counts as JSON,
                                   POST /__reset sets them to zero.
  servers.py slow --hold-ms 200    answers every request with 200 after holding it HOLD ms.
  servers.py peer --hub-id ID --delay-ms 50 --result-file F
                                   a peer hub's federation endpoints as a slow peer answers them: a recognition
                                   query gets, after DELAY ms, the result in F (a result record as the hub's API
                                   shows it) under this peer's hub id; the directory is empty. Answers are signed
                                   as a hub signs them, with a fresh Ed25519 key whose public half it prints
                                   ("public key BASE64") before it listens.

Both bind 127.0.0.1 on a free port (or --port), print "listening on 127.0.0.1:PORT" and flush, and run until
killed or until --max-seconds have passed (so a forgotten one never lives on).
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from datetime import datetime


class Stats:
    def __init__(self):
        self.received = 0
        self.unique = 0
        self.repeats = 0
        self.bad_signatures = 0
        self.first_at = None
        self.last_at = None
        self.lags_ms = []
        self.keys = set()
        self.events = {}

    def as_json(self):
        lags = sorted(self.lags_ms)

        def pct(p):
            if not lags:
                return None
            index = max(0, min(len(lags) - 1, -(-len(lags) * p // 100) - 1))
            return round(lags[int(index)], 2)

        return {
            "now": time.time(),
            "received": self.received,
            "unique": self.unique,
            "repeats": self.repeats,
            "bad_signatures": self.bad_signatures,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "events": self.events,
            "lag_ms": {"count": len(lags), "p50": pct(50), "p95": pct(95), "p99": pct(99),
                       "max": round(lags[-1], 2) if lags else None},
        }


def verify(header, body, secret):
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        expected = hmac.new(secret, fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) <= 300
    except Exception:
        return False


def response(status, body, content_type="application/json", extra_headers=()):
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "OK")
    extra = "".join(f"{name}: {value}\r\n" for name, value in extra_headers)
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def read_request(reader):
    """One request: (method, target, headers with lower-case names, body), or None at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = b""
    length = int(headers.get("content-length", "0") or 0)
    if length:
        body = await reader.readexactly(length)
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(data[:-2])
        body = b"".join(chunks)
    return method, target, headers, body


def connection_handler(answer):
    """A connection handler that reads requests one after another and writes what `answer` (an async function of
    method, target, headers and body) returns for each, until the client closes."""
    async def handle(reader, writer):
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    break
                writer.write(await answer(*request))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
    return handle


def receiver_handler(stats, secret):
    async def answer(method, target, headers, body):
        if method == "GET" and target.startswith("/__stats"):
            return response(200, json.dumps(stats.as_json()).encode())
        if method == "POST" and target.startswith("/__reset"):
            stats.__init__()
            return response(200, b"{}")
        if method != "POST":
            return response(404, b"{}")
        now = time.time()
        stats.received += 1
        stats.first_at = stats.first_at or now
        stats.last_at = now
        if not verify(headers.get("x-hub-signature", ""), body, secret):
            stats.bad_signatures += 1
        key = headers.get("idempotency-key", "")
        if key in stats.keys:
            stats.repeats += 1
        else:
            stats.keys.add(key)
            stats.unique += 1
        event = headers.get("x-hub-event", "?")
        stats.events[event] = stats.events.get(event, 0) + 1
        try:
            sent_at = json.loads(body).get("sent_at")
            if sent_at:
                sent = datetime.fromisoformat(sent_at.replace("Z", "+00:00")).timestamp()
                stats.lags_ms.append((now - sent) * 1000)
        except (ValueError, AttributeError):
            pass
        return response(200, b"{}")
    return connection_handler(answer)


def slow_handler(hold_seconds):
    async def answer(method, target, headers, body):
        await asyncio.sleep(hold_seconds)
        return response(200, b"ok", "text/plain")
    return connection_handler(answer)


# Ed25519 (RFC 8032), standard library only: the simulated peers sign their answers as a hub does. Slow (a few
# milliseconds a signature) but enough for one answer per query.
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_GY = 4 * pow(5, _P - 2, _P) % _P


def _recover_x(y, sign):
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
    return _P - x if (x & 1) != sign else x


_G = (_recover_x(_GY, 0), _GY, 1, _recover_x(_GY, 0) * _GY % _P)


def _add(a, b):
    A = (a[1] - a[0]) * (b[1] - b[0]) % _P
    B = (a[1] + a[0]) * (b[1] + b[0]) % _P
    C = 2 * a[3] * b[3] * _D % _P
    D = 2 * a[2] * b[2] % _P
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F % _P, G * H % _P, F * G % _P, E * H % _P)


def _mul(s, p):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _encode(p):
    zi = pow(p[2], _P - 2, _P)
    x, y = p[0] * zi % _P, p[1] * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


class Ed25519Key:
    def __init__(self, seed):
        h = hashlib.sha512(seed).digest()
        self.a = int.from_bytes(h[:32], "little") & ((1 << 254) - 8) | (1 << 254)
        self.prefix = h[32:]
        self.public = _encode(_mul(self.a, _G))

    def sign(self, message):
        r = int.from_bytes(hashlib.sha512(self.prefix + message).digest(), "little") % _L
        R = _encode(_mul(r, _G))
        k = int.from_bytes(hashlib.sha512(R + self.public + message).digest(), "little") % _L
        return R + ((r + k * self.a) % _L).to_bytes(32, "little")


def signed_response(key, hub_id, headers, status, body):
    """A hub's signed answer: X-Hub-Signature over AllianceHub-Federation-Answer-v2, this hub, the asking hub, the
    request id, the status and the body's SHA-256."""
    requester = headers.get("x-hub-id", "")
    request_id = headers.get("x-hub-request-id", "")
    canonical = "\n".join(["AllianceHub-Federation-Answer-v2", hub_id, requester, request_id, str(status),
                           hashlib.sha256(body).hexdigest()])
    signature = base64.b64encode(key.sign(canonical.encode())).decode()
    return response(status, body, extra_headers=[("X-Hub-Id", hub_id), ("X-Hub-Request-Id", request_id),
                                                 ("X-Hub-Signature", signature)])


def peer_handler(hub_id, delay_seconds, result, key):
    query_answer = json.dumps({
        "hub_id": hub_id, "peers": [],
        "results": [{"hub_id": hub_id, "performer_level": "tertiary", "result": dict(result, id=f"{hub_id}-r1")}],
    }).encode()

    async def answer(method, target, headers, body):
        if method == "POST" and target.startswith("/federation/v1/recognition/query"):
            await asyncio.sleep(delay_seconds)
            return signed_response(key, hub_id, headers, 200, query_answer)
        if target.startswith("/federation/v1/directory"):
            return signed_response(key, hub_id, headers, 200, b'{"items": []}')
        return response(404, b"{}")
    return connection_handler(answer)


async def serve(handler, port, max_seconds):
    server = await asyncio.start_server(handler, "127.0.0.1", port, backlog=4096, limit=1 << 20)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on 127.0.0.1:{bound}", flush=True)
    async with server:
        await asyncio.sleep(max_seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("receiver")
    r.add_argument("--secret", required=True)
    s = sub.add_parser("slow")
    s.add_argument("--hold-ms", type=int, default=200)
    q = sub.add_parser("peer")
    q.add_argument("--hub-id", required=True)
    q.add_argument("--delay-ms", type=int, default=50)
    q.add_argument("--result-file", required=True)
    for p in (r, s, q):
        p.add_argument("--port", type=int, default=0)
        p.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()
    if args.mode == "receiver":
        handler = receiver_handler(Stats(), args.secret.encode())
    elif args.mode == "peer":
        with open(args.result_file) as f:
            result = json.load(f)
        # A fresh key each run; its public half is printed for the hub's peer list.
        key = Ed25519Key(os.urandom(32))
        print(f"public key {base64.b64encode(key.public).decode()}", flush=True)
        handler = peer_handler(args.hub_id, args.delay_ms / 1000, result, key)
    else:
        handler = slow_handler(args.hold_ms / 1000)
    try:
        asyncio.run(serve(handler, args.port, args.max_seconds))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
