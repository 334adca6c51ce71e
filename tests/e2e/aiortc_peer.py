#!/usr/bin/python3
"""One side of a Balie call, played by aiortc (an independent WebRTC stack, Debian python3-aiortc).

Logs in through the dev provider without a browser, opens the signaling WebSocket (protocol
v1), joins the queue (citizen) or goes available and takes the next call (agent), answers the
gateway's offer with a synthetic audio track (a sine) and video track (a moving pattern),
counts the frames it decodes from the other side, hangs up or waits for `ended`, and prints a
JSON summary as its last stdout line. With --progress it also prints one JSON line a second
while media flows, and one when the offer came (the ICE credentials, for tests that forge STUN).

  /usr/bin/python3 tests/e2e/aiortc_peer.py --url http://localhost:PORT --role citizen
  /usr/bin/python3 tests/e2e/aiortc_peer.py --url http://localhost:PORT --role agent --hangup

Exit code 0 when the call ran and ended as asked, 1 otherwise (the summary says why).
Run it on loopback only (tests/e2e/run.sh puts it in `unshare -n`).
"""

import argparse
import asyncio
import fractions
import json
import math
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aioice.ice  # noqa: E402
import numpy as np  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.codecs import HEADER_EXTENSIONS  # noqa: E402
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack  # noqa: E402
from aiortc.sdp import candidate_from_sdp  # noqa: E402
from av import AudioFrame, VideoFrame  # noqa: E402

import balie_e2e  # noqa: E402

# REAL-PEERS.md: aioice skips 127.0.0.1 when gathering, and inside `unshare -n` it is all there is.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
# REAL-PEERS.md: aiortc 1.4.0 gives audio-level and abs-send-time the same extmap id 2.
for _ext in HEADER_EXTENSIONS["video"]:
    if _ext.uri.endswith("abs-send-time"):
        _ext.id = 3


class SineTrack(MediaStreamTrack):
    """A 440 Hz tone, 20 ms frames of 48 kHz mono, paced in real time."""

    kind = "audio"
    RATE = 48000
    SAMPLES = 960

    def __init__(self, freq=440.0):
        super().__init__()
        self.freq = freq
        self.n = 0
        self.start = None

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.monotonic()
        else:
            wait = self.start + self.n / self.RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(self.SAMPLES) + self.n) / self.RATE
        pcm = (np.sin(2 * math.pi * self.freq * t) * 8000).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.RATE
        frame.pts = self.n
        frame.time_base = fractions.Fraction(1, self.RATE)
        self.n += self.SAMPLES
        return frame


class PatternTrack(VideoStreamTrack):
    """A moving colour gradient with a bar, so every frame differs (VP8 cannot skip it)."""

    def __init__(self, width=320, height=240):
        super().__init__()
        self.w, self.h = width, height
        y, x = np.mgrid[0:height, 0:width]
        self.base = ((x + y) % 256).astype(np.uint8)
        self.i = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        shift = (self.i * 4) % self.w
        img = np.empty((self.h, self.w, 3), dtype=np.uint8)
        img[:, :, 0] = np.roll(self.base, shift, axis=1)
        img[:, :, 1] = np.roll(self.base, shift // 2, axis=0)
        img[:, :, 2] = (self.i * 3) % 256
        bar = (self.i * 6) % self.w
        img[:, bar : bar + 16, :] = 255
        self.i += 1
        frame = VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = pts
        frame.time_base = time_base
        return frame


class Peer:
    def __init__(self, args):
        self.a = args
        self.t0 = time.monotonic()
        self.ws = None
        self.pc = None
        self.s = {
            "role": args.role,
            "subject": args.subject,
            "call": None,
            "got": [],  # message types in the order they came
            "errors": [],  # `error` frames from the gateway
            "problems": [],  # what went wrong on this side
            "ice_servers": None,
            "states": [],  # media states from `state`
            "ice_state": None,
            "connected_s": None,  # seconds from the offer to ICE completed
            "first_video_s": None,  # from the offer to the first decoded video frame
            "audio_frames": 0,
            "video_frames": 0,
            "video_size": None,
            "ended": None,
            "ws_close": None,
            "hung_up": False,
            "offer": None,
            "video_sizes": {},  # "WxH" -> frames decoded at that size
            "hold": None,  # --hold-at: frames decoded when hold and resume were sent
        }
        self.offer_at = None
        self.ended = asyncio.Event()
        self.called = asyncio.Event()
        self.media_up = asyncio.Event()
        self.queue_seen = asyncio.Event()
        self.tasks = []
        self.next_id = 1

    def now(self):
        return round(time.monotonic() - self.t0, 3)

    def emit(self, event, **kw):
        if self.a.progress:
            print(json.dumps({"event": event, "t": self.now(), "role": self.a.role, **kw}), flush=True)

    async def send(self, type_, **fields):
        msg = {"type": type_, "id": self.next_id, **fields}
        self.next_id += 1
        await self.ws.send(json.dumps(msg))

    async def run(self):
        base = self.a.url.rstrip("/")
        name = "Test Medewerker" if self.a.role == "agent" else ""
        cookie = await asyncio.get_running_loop().run_in_executor(
            None, lambda: balie_e2e.dev_login(base, self.a.role, self.a.subject, self.a.loa, name)
        )
        self.ws = await balie_e2e.ws_connect(base, cookie)
        self.emit("open")
        reader = asyncio.ensure_future(self.read())
        self.tasks.append(reader)
        if self.a.role == "citizen":
            fields = {"service": self.a.service} if self.a.service else {}
            await self.send("join", **fields)
        else:
            await self.send("presence", status="available")
            await self.wait(self.queue_seen, self.a.timeout, "no queue entry to take")
            await self.send("accept")
        await self.wait(self.called, self.a.timeout, "no call")
        await self.wait(self.media_up, self.a.timeout, "no audio and video decoded")
        started = time.monotonic()
        if self.a.hold_at is not None:
            await self.hold_and_resume()
        # Count for the asked time, unless the call ends first.
        try:
            await asyncio.wait_for(self.ended.wait(), max(0.0, self.a.seconds - (time.monotonic() - started)))
        except asyncio.TimeoutError:
            pass
        if not self.ended.is_set() and self.a.hangup:
            self.s["hung_up"] = True
            await self.send("hangup")
        if not self.ended.is_set():
            await self.wait(self.ended, self.a.end_timeout, "no `ended`")

    def frames(self):
        return [self.s["audio_frames"], self.s["video_frames"]]

    async def hold_and_resume(self):
        """The agent's hold, --hold-for seconds, resume; with the two refusals a wrong order gets
        (`resume` while not held, a second `hold`)."""
        await asyncio.sleep(self.a.hold_at)
        await self.send("resume")
        await self.send("hold")
        await asyncio.sleep(0.5)
        await self.send("hold")
        h = {"hold": self.frames()}
        await asyncio.sleep(self.a.hold_for)
        h["resume"] = self.frames()
        await self.send("resume")
        self.s["hold"] = h
        self.emit("resumed", **h)

    async def wait(self, event, timeout, what):
        done = asyncio.ensure_future(event.wait())
        lost = self.tasks[0]  # the reader ends when the socket closes
        await asyncio.wait([done, lost], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not event.is_set():
            done.cancel()
            why = f"{what} after {timeout} s" if not lost.done() else f"{what}: the WebSocket closed"
            raise RuntimeError(why)

    async def read(self):
        import websockets

        try:
            async for raw in self.ws:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    self.s["problems"].append(f"not JSON from the gateway: {raw[:100]!r}")
                    continue
                await self.on_message(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.s["ws_close"] = {"code": self.ws.close_code, "reason": self.ws.close_reason}

    async def on_message(self, m):
        t = m.get("type")
        self.s["got"].append(t)
        if t == "error":
            self.s["errors"].append(m)
        elif t == "queue" and self.a.role == "agent":
            if m.get("waiting"):
                self.queue_seen.set()
        elif t == "queued":
            self.s["call"] = m.get("call")
            self.emit("queued", position=m.get("position"))
        elif t == "call":
            self.s["call"] = m.get("call")
            self.s["ice_servers"] = m.get("ice_servers")
            self.called.set()
        elif t == "offer":
            await self.on_offer(m.get("sdp", ""))
        elif t == "candidate" and self.pc and m.get("candidate"):
            try:
                c = candidate_from_sdp(m["candidate"].split(":", 1)[-1])
                c.sdpMid = m.get("sdpMid", "0")
                await self.pc.addIceCandidate(c)
            except Exception as e:  # a bad candidate is worth a note, not a crash
                self.s["problems"].append(f"candidate not added: {e}")
        elif t == "state":
            self.s["states"].append(m.get("media"))
        elif t == "ended":
            self.s["ended"] = {"reason": m.get("reason"), "outcome": m.get("outcome"), "t": self.now()}
            self.emit("ended", reason=m.get("reason"))
            self.ended.set()

    async def on_offer(self, sdp):
        first = self.pc is None
        self.offer_at = self.offer_at or time.monotonic()
        if first:
            # No STUN server: aiortc's default is a public one, and no traffic may leave.
            self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            self.pc.on("track", self.on_track)

            @self.pc.on("iceconnectionstatechange")
            def _ice():
                st = self.pc.iceConnectionState
                self.s["ice_state"] = st
                if st == "completed" and self.s["connected_s"] is None:
                    self.s["connected_s"] = round(time.monotonic() - self.offer_at, 3)
                self.emit("ice", state=st)

        if first:
            self.s["offer"] = offer_shape(sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if first:
            self.pc.addTrack(SineTrack(440.0 if self.a.role == "citizen" else 660.0))
            self.pc.addTrack(PatternTrack())
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        answer = self.pc.localDescription.sdp
        await self.send("answer", sdp=answer)
        self.emit(
            "offer",
            gateway_ufrag=_attr(sdp, "ice-ufrag"),
            gateway_pwd_len=len(_attr(sdp, "ice-pwd") or ""),
            local_ufrag=_attr(answer, "ice-ufrag"),
            gateway_candidates=re.findall(r"a=candidate:([^\r\n]*)", sdp),
        )

    def on_track(self, track):
        self.tasks.append(asyncio.ensure_future(self.consume(track)))

    async def consume(self, track):
        key = "video_frames" if track.kind == "video" else "audio_frames"
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.s[key] += 1
            if track.kind == "video":
                if self.s["first_video_s"] is None:
                    self.s["first_video_s"] = round(time.monotonic() - self.offer_at, 3)
                self.s["video_size"] = [frame.width, frame.height]
                size = f"{frame.width}x{frame.height}"
                self.s["video_sizes"][size] = self.s["video_sizes"].get(size, 0) + 1
            if self.s["video_frames"] and self.s["audio_frames"]:
                self.media_up.set()

    async def progress(self):
        while True:
            await asyncio.sleep(1.0)
            if self.offer_at:
                self.emit("progress", audio=self.s["audio_frames"], video=self.s["video_frames"])

    async def close(self):
        for t in self.tasks:
            t.cancel()
        if self.pc:
            await self.pc.close()
        if self.ws:
            await self.ws.close()


def offer_shape(sdp):
    """What DESIGN.md §3 says the gateway's offer holds, as seen in this one."""
    rtpmap = dict((m.group(2).lower(), int(m.group(1))) for m in re.finditer(r"^a=rtpmap:(\d+) ([^/\s]+)", sdp, re.M))
    return {
        "ice_lite": bool(re.search(r"^a=ice-lite", sdp, re.M)),
        "bundle": bool(re.search(r"^a=group:BUNDLE \S+ \S+", sdp, re.M)),
        "rtcp_mux": len(re.findall(r"^a=rtcp-mux", sdp, re.M)),
        "media": re.findall(r"^m=(\w+)", sdp, re.M),
        "opus_pt": rtpmap.get("opus"),
        "vp8_pt": rtpmap.get("vp8"),
        "setup": sorted(set(re.findall(r"^a=setup:(\w+)", sdp, re.M))),
        "fingerprint": bool(re.search(r"^a=fingerprint:sha-256 ", sdp, re.M)),
        "candidates": re.findall(r"^a=candidate:([^\r\n]*)", sdp, re.M),
    }


def _attr(sdp, name):
    m = re.search(rf"^a={name}:(\S+)", sdp, re.M)
    return m.group(1) if m else None


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the gateway, e.g. http://localhost:8080")
    p.add_argument("--role", choices=["citizen", "agent"], required=True)
    p.add_argument("--subject", default=None, help="test BSN (citizen) or agent id")
    p.add_argument("--loa", default="substantieel")
    p.add_argument("--service", default="algemeen", help="'' to leave it out of join")
    p.add_argument("--seconds", type=float, default=4.0, help="count media this long")
    p.add_argument("--hangup", action="store_true", help="hang up after --seconds")
    p.add_argument("--timeout", type=float, default=20.0, help="for each step before media")
    p.add_argument("--end-timeout", type=float, default=30.0, help="for `ended` after media")
    p.add_argument("--progress", action="store_true", help="a JSON line a second while media flows")
    p.add_argument("--hold-at", type=float, default=None, help="agent: hold this long after media")
    p.add_argument("--hold-for", type=float, default=4.0, help="agent: then resume after this long")
    a = p.parse_args()
    if a.subject is None:
        a.subject = balie_e2e.BSN_CITIZEN if a.role == "citizen" else balie_e2e.BSN_OTHER
    peer = Peer(a)
    ticker = asyncio.ensure_future(peer.progress())
    ok = False
    try:
        await peer.run()
        ok = peer.s["ended"] is not None
    except Exception as e:
        peer.s["problems"].append(f"{type(e).__name__}: {e}")
    finally:
        ticker.cancel()
        try:
            await asyncio.wait_for(peer.close(), 5)
        except Exception as e:
            peer.s["problems"].append(f"close: {type(e).__name__}: {e}")
    peer.s["elapsed_s"] = peer.now()
    print(json.dumps({"event": "summary", **peer.s}), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
