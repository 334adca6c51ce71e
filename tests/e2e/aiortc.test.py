#!/usr/bin/python3
"""A whole call between two aiortc peers (an independent WebRTC stack) through the real gateway:
dev login, queue, accept, the gateway's offer answered by aiortc, audio and video decoded on
both sides, hang-up seen by both, and a clean exit on SIGTERM.

  /usr/bin/python3 tests/e2e/aiortc.test.py      (inside `unshare -n`; tests/e2e/run.sh does it)
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import balie_e2e  # noqa: E402
from balie_e2e import Gateway, PeerProc  # noqa: E402

MIN_VIDEO = 20
MIN_AUDIO = 50


class AiortcCall(unittest.TestCase):
    def test_call_between_two_aiortc_peers(self):
        gw = Gateway().start()
        peers = []
        try:
            self.assertEqual(balie_e2e.healthz(gw.base), 200)
            citizen = PeerProc(gw.base, "citizen", "--seconds", "30")
            peers.append(citizen)
            # The agent comes second, so the citizen is waiting when it goes available.
            self.assertIsNotNone(
                citizen.wait_event("queued", 20), "the citizen was not queued\n" + citizen.describe()
            )
            agent = PeerProc(gw.base, "agent", "--seconds", "5", "--hangup")
            peers.append(agent)
            t0 = time.monotonic()
            s_agent = agent.summary(60)
            s_citizen = citizen.summary(20)
            took = time.monotonic() - t0
            detail = "\n".join(p.describe() for p in peers) + "\n--- gateway log ---\n" + gw.log_text(60)
            self.assertIsNotNone(s_agent, "no summary from the agent\n" + detail)
            self.assertIsNotNone(s_citizen, "no summary from the citizen\n" + detail)
            for s in (s_agent, s_citizen):
                who = s["role"]
                self.assertEqual(s["problems"], [], f"{who}: {s}\n{detail}")
                self.assertEqual(s["errors"], [], f"{who} got error frames: {s['errors']}")
                self.assertIsNotNone(s["call"], f"{who} got no call id")
                self.assertGreaterEqual(s["video_frames"], MIN_VIDEO, f"{who} decoded too few video frames: {s}")
                self.assertGreaterEqual(s["audio_frames"], MIN_AUDIO, f"{who} decoded too few audio frames: {s}")
                self.assertIsNotNone(s["ended"], f"{who} got no `ended`: {s}")
                self.assertIn("offer", s["got"])
                self.assertLess(s["got"].index("call"), s["got"].index("offer"), f"{who}: `call` before `offer`")
                self.assertEqual(s["video_size"], [320, 240], f"{who} got another picture size: {s}")
            self.assertEqual(s_agent["call"], s_citizen["call"], "both sides are in the same call")
            # DESIGN.md §3: the ICE-lite gateway offers BUNDLE, rtcp-mux, Opus 111, VP8 96, actpass.
            for s in (s_agent, s_citizen):
                o = s["offer"]
                self.assertIsNotNone(o, f"{s['role']} saw no offer")
                self.assertEqual(o["media"], ["audio", "video"], o)
                self.assertTrue(o["ice_lite"] and o["bundle"] and o["fingerprint"], o)
                self.assertEqual(o["rtcp_mux"], 2, o)
                self.assertEqual((o["opus_pt"], o["vp8_pt"]), (111, 96), o)
                self.assertEqual(o["setup"], ["actpass"], o)
                self.assertTrue(o["candidates"] and all(" 127.0.0.1 " in c for c in o["candidates"]), o)
            self.assertTrue(s_agent["hung_up"])
            self.assertIn("flowing", s_citizen["states"] + s_agent["states"], "the gateway said media flows")
            print(
                f"  call {s_agent['call']}: ICE {s_citizen['connected_s']}/{s_agent['connected_s']} s, "
                f"first video {s_citizen['first_video_s']}/{s_agent['first_video_s']} s after the offer "
                f"(citizen/agent); decoded citizen {s_citizen['video_frames']} video "
                f"{s_citizen['audio_frames']} audio, agent {s_agent['video_frames']} video "
                f"{s_agent['audio_frames']} audio; ended {s_citizen['ended']}; {took:.1f} s",
                file=sys.stderr,
            )
            self.assertEqual(balie_e2e.healthz(gw.base), 200)
            self.check_journey(gw, s_citizen["call"])
        finally:
            for p in peers:
                p.kill()
            rc = gw.stop()
        self.assertEqual(rc, 0, "the gateway exits 0 on SIGTERM\n" + gw.log_text(30))


    def check_journey(self, gw, call):
        """The call left exactly one journey signal for the citizen: completed, with media in
        both directions, and nothing that names the citizen (DESIGN.md §7)."""
        with open(os.path.join(gw.dir, "data", "admin.token")) as f:
            token = f.read().strip()
        st, _, body = balie_e2e.http_request(
            gw.base, "GET", "/admin/v1/signals?subject=" + balie_e2e.BSN_CITIZEN,
            headers={"Authorization": "Bearer " + token})
        self.assertEqual(st, 200, body[:300])
        doc = json.loads(body)
        signals = doc.get("signals", doc) if isinstance(doc, dict) else doc
        self.assertEqual(len(signals), 1, f"one session, one signal: {body[:500]!r}")
        sig = signals[0]
        self.assertEqual(sig["outcome"], "completed", sig)
        self.assertEqual(sig["service"], "algemeen", sig)
        self.assertGreaterEqual(sig["talk_s"], 1, sig)
        self.assertGreater(sig["media"]["packets_in"], 100, sig)
        self.assertGreater(sig["media"]["packets_out"], 100, sig)
        self.assertNotIn(balie_e2e.BSN_CITIZEN.encode(), body, "no BSN in the signal")
        print(f"  journey: {sig['outcome']}, talk {sig['talk_s']} s, wait {sig['wait_s']} s, "
              f"media in/out {sig['media']['packets_in']}/{sig['media']['packets_out']} packets",
              file=sys.stderr)


if __name__ == "__main__":
    balie_e2e.run_tests()
