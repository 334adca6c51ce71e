#!/usr/bin/python3
"""Bad input during a live call: while two aiortc peers talk through the real gateway, a stranger
sends junk to the media port (random datagrams, truncated STUN, STUN with a wrong
MESSAGE-INTEGRITY or an unknown user, RTP and RTCP for unknown SSRCs from unbound addresses,
DTLS junk), and a third logged-in session sends malformed JSON, unknown types, messages its role
may not send, and a frame over 64 KiB. The call must keep flowing on both sides, the other
sockets must stay up, and /healthz must stay 200.

  /usr/bin/python3 tests/e2e/badinput.test.py    (inside `unshare -n`; tests/e2e/run.sh does it)
"""

import asyncio
import hashlib
import hmac
import json
import os
import random
import re
import socket
import struct
import sys
import time
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import balie_e2e  # noqa: E402
from balie_e2e import Gateway, PeerProc  # noqa: E402

MAGIC = 0x2112A442
rng = random.Random(20261122)  # the same junk every run, so a failure can be repeated


def stun_attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def stun_binding(username, key, use_candidate=True, fingerprint=True):
    """An RFC 8489 Binding request as a controlling ICE agent sends it (RFC 8445 §7.1.1), with
    MESSAGE-INTEGRITY under `key` and FINGERPRINT (RFC 8489 §14.5, §14.7)."""
    tid = bytes(rng.getrandbits(8) for _ in range(12))
    attrs = stun_attr(0x0006, username.encode())  # USERNAME
    attrs += stun_attr(0x0024, struct.pack("!I", 0x6E001EFF))  # PRIORITY
    attrs += stun_attr(0x802A, struct.pack("!Q", rng.getrandbits(64)))  # ICE-CONTROLLING
    if use_candidate:
        attrs += stun_attr(0x0025, b"")  # USE-CANDIDATE
    # MESSAGE-INTEGRITY covers the header with the length up to and including itself.
    head = struct.pack("!HHI", 0x0001, len(attrs) + 24, MAGIC) + tid
    mac = hmac.new(key, head + attrs, hashlib.sha1).digest()
    attrs += stun_attr(0x0008, mac)
    if fingerprint:
        head = struct.pack("!HHI", 0x0001, len(attrs) + 8, MAGIC) + tid
        crc = (zlib.crc32(head + attrs) ^ 0x5354554E) & 0xFFFFFFFF
        attrs += stun_attr(0x8028, struct.pack("!I", crc))
    return struct.pack("!HHI", 0x0001, len(attrs), MAGIC) + tid + attrs


def rtp(pt, ssrc, seq, payload_len=160, marker=False):
    hdr = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, seq * 960, ssrc)
    return hdr + bytes(rng.getrandbits(8) for _ in range(payload_len))


def junk_datagrams(gateway_ufrag, peer_ufrag):
    """(label, datagram) pairs. The first byte decides how RFC 7983 demultiplexes a datagram:
    0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP; the rest is nothing the gateway should take."""
    out = []
    for _ in range(150):
        out.append(("random", bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 1400)))))
    for first in (0, 1, 2, 3, 20, 22, 23, 63, 64, 127, 128, 191, 192, 255):
        out.append((f"first byte {first}", bytes([first]) + bytes(rng.getrandbits(8) for _ in range(40))))
    out.append(("empty-ish", b"\x00"))
    good = stun_binding(f"{gateway_ufrag}:{peer_ufrag}", b"not the password")
    out.append(("stun wrong integrity", good))
    out.append(("stun wrong integrity, no fingerprint", stun_binding(f"{gateway_ufrag}:{peer_ufrag}", b"x", fingerprint=False)))
    out.append(("stun unknown user", stun_binding("nobody:nothing", b"whatever")))
    out.append(("stun username without colon", stun_binding(gateway_ufrag, b"whatever")))
    for cut in (1, 4, 19, 20, 23, 28, len(good) - 1, len(good) - 4, len(good) - 8):
        out.append((f"stun truncated to {cut}", good[:cut]))
    bad_len = bytearray(good)
    struct.pack_into("!H", bad_len, 2, 0xFFFC)  # says 65532 bytes of attributes follow
    out.append(("stun length too large", bytes(bad_len)))
    odd_len = bytearray(good)
    struct.pack_into("!H", odd_len, 2, len(good) - 20 - 2)  # not a multiple of 4
    out.append(("stun length not aligned", bytes(odd_len)))
    huge_attr = bytearray(good)
    struct.pack_into("!H", huge_attr, 22, 0xFFFF)  # USERNAME claims 65535 bytes
    out.append(("stun attribute overruns", bytes(huge_attr)))
    out.append(("stun response", struct.pack("!HHI", 0x0101, 0, MAGIC) + bytes(12)))
    for i in range(40):
        ssrc = rng.getrandbits(32)
        out.append(("rtp unknown ssrc (opus)", rtp(111, ssrc, i)))
        out.append(("rtp unknown ssrc (vp8)", rtp(96, ssrc, i, 900, marker=True)))
    out.append(("rtp header only", rtp(96, 1, 1, 0)))
    out.append(("rtp truncated", rtp(96, 1, 1)[:7]))
    out.append(("rtp csrc count past the end", bytes([0x8F, 96]) + bytes(14)))
    out.append(("rtp extension past the end", bytes([0x90, 96]) + bytes(10) + b"\xbe\xde\xff\xff"))
    for pt in (200, 201, 205, 206):  # SR, RR, RTPFB, PSFB
        out.append((f"rtcp {pt}", struct.pack("!BBHI", 0x81, pt, 7, rng.getrandbits(32)) + bytes(28)))
        out.append((f"rtcp {pt} bad length", struct.pack("!BBHI", 0x81, pt, 0xFFFF, 1)))
    # DTLS records (RFC 6347 §4.1): type, version 0xfefd, epoch, sequence, length, fragment.
    hello = bytes([1]) + struct.pack("!I", 200)[1:] + struct.pack("!H", 0) + bytes(3) + struct.pack("!I", 200)[1:]
    hello += bytes(rng.getrandbits(8) for _ in range(200))
    rec = struct.pack("!BHHHIH", 22, 0xFEFD, 0, 0, 0, len(hello)) + hello
    out.append(("dtls clienthello junk", rec))
    out.append(("dtls truncated record", rec[:20]))
    out.append(("dtls length past the end", struct.pack("!BHHHIH", 22, 0xFEFD, 0, 0, 1, 5000) + bytes(30)))
    out.append(("dtls application data epoch 1", struct.pack("!BHHHIH", 23, 0xFEFD, 1, 0, 9, 64) + bytes(64)))
    out.append(("dtls alert", struct.pack("!BHHHIH", 21, 0xFEFD, 0, 0, 2, 2) + b"\x02\x28"))
    out.append(("dtls change cipher spec", struct.pack("!BHHHIH", 20, 0xFEFD, 0, 0, 3, 1) + b"\x01"))
    return out


class BadInputDuringCall(unittest.TestCase):
    def setUp(self):
        self.gw = Gateway().start()
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.kill()
        if self.gw.proc and self.gw.proc.poll() is None:
            self.gw.stop()

    def detail(self):
        return "\n".join(p.describe() for p in self.peers) + "\n--- gateway log ---\n" + self.gw.log_text(60)

    def flowing(self, what, timeout=20):
        """Waits until both peers decoded more frames than they had; returns the new counts."""
        before = [p.progress() for p in self.peers]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = [p.progress() for p in self.peers]
            if all(n[0] >= b[0] + 25 and n[1] >= b[1] + 10 for n, b in zip(now, before)):
                return now
            time.sleep(0.25)
        self.fail(f"media stopped {what}: before {before}, now {[p.progress() for p in self.peers]}\n" + self.detail())

    def test_junk_on_the_media_port_and_the_websocket(self):
        gw = self.gw
        citizen = PeerProc(gw.base, "citizen", "--seconds", "60")
        self.peers.append(citizen)
        self.assertIsNotNone(citizen.wait_event("queued", 20), "the citizen was not queued\n" + self.detail())
        agent = PeerProc(gw.base, "agent", "--seconds", "14", "--hangup")
        self.peers.append(agent)
        offers = [p.wait_event("offer", 20) for p in self.peers]
        self.assertTrue(all(offers), "no offer\n" + self.detail())
        self.flowing("before any junk")

        # 1. The media port, from sockets the gateway has never seen.
        m0 = balie_e2e.metrics(gw.base)
        first, last = gw.media_ports
        sent = 0
        answers = []
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
        try:
            for s in socks:
                s.bind(("127.0.0.1", 0))
                s.setblocking(False)
            for rnd in range(2):
                for off in offers:
                    for label, data in junk_datagrams(off["gateway_ufrag"], off["local_ufrag"]):
                        for port in range(first, last + 1):
                            socks[sent % len(socks)].sendto(data, ("127.0.0.1", port))
                            sent += 1
                    time.sleep(0.05)
                self.assertEqual(balie_e2e.healthz(gw.base), 200, "/healthz during the junk")
            time.sleep(0.3)
            for s in socks:
                while True:
                    try:
                        answers.append(s.recv(2048))
                    except BlockingIOError:
                        break
        finally:
            for s in socks:
                s.close()
        # A check with a wrong MESSAGE-INTEGRITY must never earn a Binding success (RFC 8489
        # §9.1.3: discard, or answer 401); the gateway sends nothing else to a stranger.
        for a in answers:
            self.assertNotEqual(a[:2], b"\x01\x01", "a forged STUN check got a Binding success")
            self.assertTrue(a[:2] in (b"\x01\x11",), f"the gateway answered a stranger with {a[:24].hex()}")
        # DESIGN.md §2: no logging per packet, counters instead. Each junk datagram is counted as
        # unrouted (no leg claimed it) or dropped (a leg refused it), except the forged checks
        # that carry a real leg's user name and got a 401. Workers report totals about once a
        # second, so wait for them.
        counted = lambda m: sum(m.get(k, 0) - m0.get(k, 0) for k in ("balie_worker_unrouted_total", "balie_media_dropped_total"))
        deadline = time.monotonic() + 4
        while True:
            m1 = balie_e2e.metrics(gw.base)
            if counted(m1) >= 0.95 * sent or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        delta = {k: m1[k] - m0.get(k, 0) for k in m1 if k.startswith(("balie_worker_", "balie_media_")) and m1[k] != m0.get(k, 0)}
        print(f"  sent {sent} junk datagrams to UDP {first}-{last}; {len(answers)} answers; metrics moved: {delta}", file=sys.stderr)
        self.assertGreaterEqual(counted(m1), 0.95 * sent, f"junk not counted as unrouted or dropped: {delta}")
        self.flowing("after the UDP junk")

        # 2. The signaling socket of a third session.
        cookie = balie_e2e.dev_login(gw.base, "citizen", balie_e2e.BSN_THIRD)
        ws_result = asyncio.run(self.websocket_abuse(gw, cookie))
        print(f"  websocket: {ws_result}", file=sys.stderr)
        self.assertEqual(balie_e2e.healthz(gw.base), 200, "/healthz after the WebSocket abuse")
        counts = self.flowing("after the WebSocket abuse")
        print(f"  still flowing: citizen/agent decoded (audio, video) {counts}", file=sys.stderr)

        # 3. The call ends normally: the agent hangs up, both get `ended`.
        s_agent = agent.summary(40)
        s_citizen = citizen.summary(20)
        self.assertIsNotNone(s_agent, "no summary from the agent\n" + self.detail())
        self.assertIsNotNone(s_citizen, "no summary from the citizen\n" + self.detail())
        for s in (s_agent, s_citizen):
            self.assertEqual(s["problems"], [], f"{s['role']}: {s}\n{self.detail()}")
            self.assertIsNotNone(s["ended"], f"{s['role']} got no `ended`: {s}")
            self.assertEqual(s["errors"], [], f"{s['role']} got error frames: {s['errors']}")
        self.assertEqual(balie_e2e.healthz(gw.base), 200)
        rc = gw.stop()
        self.assertEqual(rc, 0, "the gateway exits 0 on SIGTERM\n" + gw.log_text(30))

    @staticmethod
    async def reply(ws, timeout=3):
        """The next `ack` or `error`, skipping what the gateway says unasked (e.g. `session`)."""
        deadline = time.monotonic() + timeout
        while True:
            m = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
            if m.get("type") in ("ack", "error"):
                return m

    async def closed_with(self, ws, codes, what):
        import websockets

        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except websockets.ConnectionClosed:
            pass
        except asyncio.TimeoutError:
            self.fail(f"{what} did not close the socket")
        self.assertIn(ws.close_code, codes, f"{what}: closed with {ws.close_code} {ws.close_reason!r}")
        return ws.close_code

    async def websocket_abuse(self, gw, cookie):
        import websockets

        result = {}
        # Without a session cookie, and from another origin: the upgrade is refused.
        for label, kw in (("no cookie", {"cookie": None}), ("foreign origin", {"cookie": cookie, "origin": "http://evil.example"})):
            try:
                ws = await balie_e2e.ws_connect(gw.base, **kw)
            except websockets.InvalidStatusCode as e:
                result[label] = e.status_code
                self.assertIn(e.status_code, (400, 401, 403), f"{label}: refused with {e.status_code}")
            except websockets.InvalidHandshake as e:
                result[label] = type(e).__name__
            else:
                await ws.close()
                self.fail(f"the WebSocket was accepted with {label}")

        ws = await balie_e2e.ws_connect(gw.base, cookie)
        # (label, frame, the error codes docs/protocol.md allows for it)
        bad = [
            ("not JSON", "{not json", {"bad_json"}),
            ("empty", "", {"bad_json"}),
            ("array", "[1,2,3]", {"not_object"}),
            ("string", '"join"', {"not_object"}),
            ("no type", '{"id":1}', {"missing_type"}),
            ("type not a string", '{"type":42,"id":2}', {"missing_type", "bad_field"}),
            ("unknown type", '{"type":"no_such_type","id":3}', {"unknown_type"}),
            ("agent-only from a citizen", '{"type":"presence","status":"available","id":4}', {"forbidden"}),
            ("accept from a citizen", '{"type":"accept","id":5}', {"forbidden"}),
            ("answer outside a call", '{"type":"answer","sdp":"v=0\\r\\n","id":6}', {"not_in_call"}),
            ("bad field type", '{"type":"join","service":["a"],"id":8}', {"bad_field"}),
            ("unknown service", '{"type":"join","service":"no-such-service","id":9}', {"unknown_service"}),
            ("deep nesting", '{"type":"chat","text":' + "[" * 200 + "]" * 200 + ',"id":10}', {"too_large", "bad_field"}),
            ("lone surrogate", '{"type":"chat","text":"\\ud800","id":11}', {"bad_json"}),
            ("duplicate key", '{"type":"leave","type":"join","id":12}', {"bad_json"}),
            ("trailing garbage", '{"type":"leave","id":13} x', {"bad_json"}),
            ("id too long", '{"type":"leave","id":"' + "i" * 65 + '"}', {"too_large", "bad_field"}),
        ]
        codes = {}
        for label, frame, want in bad:
            await ws.send(frame)
            try:
                reply = await self.reply(ws)
            except asyncio.TimeoutError:
                self.fail(f"no answer to {label!r}: malformed frames get an `error`")
            except websockets.ConnectionClosed:
                self.fail(f"the gateway closed the socket on {label!r} ({ws.close_code}); it must stay up")
            self.assertEqual(reply.get("type"), "error", f"{label!r} answered with {reply}")
            self.assertIn(reply.get("code"), want, f"{label!r} answered with {reply}")
            idm = re.search(r'"id":(\d+)', frame)
            if idm and reply.get("code") not in ("bad_json", "too_large"):
                self.assertEqual(reply.get("id"), int(idm.group(1)), f"{label!r}: the error echoes the id: {reply}")
            codes[label] = reply.get("code")
        result["errors"] = len(codes)

        # Over 64 KiB: closed with 1009 (too big) or 1008 (policy).
        await ws.send(json.dumps({"type": "chat", "text": "x" * 70000, "id": 99}))
        result["oversized close"] = await self.closed_with(ws, (1008, 1009), "a frame over 64 KiB")
        # A binary frame: v1 is text only (1003, "unsupported data").
        ws = await balie_e2e.ws_connect(gw.base, cookie)
        await ws.send(b"\x00\x01binary")
        result["binary close"] = await self.closed_with(ws, (1003, 1008), "a binary frame")
        # A burst over the limit (docs/protocol.md: bursts of 60; gateway closes at 40 over):
        # one `rate_limited`, the rest ignored, and the socket stays up.
        ws = await balie_e2e.ws_connect(gw.base, cookie)
        for i in range(80):
            await ws.send('{"type":"no_such_type","id":%d}' % i)
        got = []
        try:
            while True:
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 1.5)).get("code"))
        except asyncio.TimeoutError:
            pass
        except websockets.ConnectionClosed:
            self.fail(f"a burst of 80 frames closed the socket ({ws.close_code}); only a flood that goes on may")
        result["burst"] = {"answered": len(got), "rate_limited": got.count("rate_limited")}
        self.assertGreaterEqual(got.count("rate_limited"), 1, f"80 frames at once were all served: {result['burst']}")
        self.assertLess(len(got), 80, result["burst"])
        await ws.close()
        # A flood that goes on (100 a second, five times the sustained rate): closed with 1008.
        # Frames go out one at a time while a reader takes what comes back, so that none of
        # ours is still unread when the gateway closes (a close() with unread data makes the
        # kernel reset the connection, and the close frame could be lost).
        ws = await balie_e2e.ws_connect(gw.base, cookie)
        answers = []

        async def drain():
            try:
                while True:
                    answers.append(json.loads(await ws.recv()).get("code"))
            except websockets.ConnectionClosed:
                pass

        reader = asyncio.ensure_future(drain())
        sent = 0
        try:
            for i in range(1000):
                await ws.send('{"type":"no_such_type","id":%d}' % i)
                sent += 1
                await asyncio.sleep(0.01)
                if reader.done():
                    break
        except websockets.ConnectionClosed:
            pass
        await asyncio.wait_for(reader, 5)
        result["flood"] = {"sent": sent, "rate_limited": answers.count("rate_limited"), "close": ws.close_code}
        self.assertEqual(ws.close_code, 1008, f"a flood is closed with 1008: {result['flood']} {ws.close_reason!r}")
        # A new socket of the same session still works.
        ws = await balie_e2e.ws_connect(gw.base, cookie)
        await ws.send('{"type":"no_such_type","id":1}')
        reply = await self.reply(ws)
        self.assertEqual(reply.get("type"), "error")
        self.assertEqual(reply.get("id"), 1, "an error echoes the request's id")
        await ws.close()
        return result


if __name__ == "__main__":
    balie_e2e.run_tests()
