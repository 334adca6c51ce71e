#!/usr/bin/python3
"""Hold and resume between two aiortc peers (an independent WebRTC stack) through the real gateway:
the agent puts the call on hold; the citizen's aiortc decodes the gateway's hold slate (VP8,
768×432) and chime (Opus) instead of the agent's 320×240 pattern, the agent decodes nothing from
the citizen; after resume both decode each other again. Also the refusals: `resume` when not on
hold, `hold` when on hold already.

  /usr/bin/python3 tests/e2e/hold_aiortc.test.py      (inside `unshare -n`; tests/e2e/run.sh does it)
"""

import asyncio
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import balie_e2e  # noqa: E402
from balie_e2e import Gateway, PeerProc  # noqa: E402

HOLD_FOR = 4.0


class AiortcHold(unittest.TestCase):
    def test_hold_and_resume_between_two_aiortc_peers(self):
        gw = Gateway().start()
        peers = []
        try:
            citizen = PeerProc(gw.base, "citizen", "--seconds", "40")
            peers.append(citizen)
            self.assertIsNotNone(citizen.wait_event("queued", 20), "not queued\n" + citizen.describe())
            agent = PeerProc(
                gw.base, "agent", "--seconds", "12", "--hangup", "--hold-at", "2", "--hold-for", str(HOLD_FOR)
            )
            peers.append(agent)
            s_agent = agent.summary(90)
            s_citizen = citizen.summary(20)
            detail = "\n".join(p.describe() for p in peers) + "\n--- gateway log ---\n" + gw.log_text(40)
            self.assertIsNotNone(s_agent, "no summary from the agent\n" + detail)
            self.assertIsNotNone(s_citizen, "no summary from the citizen\n" + detail)
            self.assertEqual([e.get("code") for e in s_agent["errors"]], ["not_held", "already_held"], detail)
            self.assertEqual(s_citizen["errors"], [], detail)
            for s in (s_agent, s_citizen):
                self.assertEqual(s["problems"], [], f"{s['role']}: {s}\n{detail}")
                # Both are told: held, then flowing again.
                states = s["states"]
                self.assertIn("held", states, f"{s['role']}: {states}")
                self.assertIn("flowing", states[states.index("held") :], f"{s['role']}: {states}")
                self.assertIsNotNone(s["ended"], f"{s['role']} got no `ended`")
            # The citizen decoded the hold slate (10 frames a second, aiortc's decoder is slow on a
            # busy machine) and, before and after, the agent's pattern.
            sizes = s_citizen["video_sizes"]
            self.assertGreaterEqual(sizes.get("768x432", 0), 2 * HOLD_FOR, f"hold frames: {sizes}")
            self.assertGreaterEqual(sizes.get("320x240", 0), 40, f"the agent's frames: {sizes}")
            self.assertEqual(s_citizen["video_size"], [320, 240], "the agent's picture is back at the end")
            # The agent decoded (next to) nothing from the citizen while on hold.
            h = s_agent["hold"]
            self.assertIsNotNone(h, detail)
            audio, video = (h["resume"][i] - h["hold"][i] for i in (0, 1))
            self.assertLessEqual(video, 2, f"the agent saw the citizen while on hold: {h}")
            self.assertLessEqual(audio, 5, f"the agent heard the citizen while on hold: {h}")
            self.assertGreater(s_agent["video_frames"], h["resume"][1] + 20, f"after resume: {s_agent}")
            self.assertGreater(s_agent["audio_frames"], h["resume"][0] + 100, f"after resume: {s_agent}")
            m = balie_e2e.metrics(gw.base)
            self.assertEqual(m.get("balie_calls_on_hold"), 0, m)
            self.assertGreaterEqual(m.get("balie_hold_seconds_total", 0), HOLD_FOR, m)
            print(f"  citizen sizes {sizes}; agent during hold {h}", flush=True)
        finally:
            for p in peers:
                p.kill()
            rc = gw.stop()
        self.assertEqual(rc, 0, "the gateway did not stop cleanly")

    def test_hold_outside_a_call_is_refused(self):
        """An agent not in a call gets `not_in_call`; a citizen may not hold at all."""
        gw = Gateway().start()
        try:
            agent = balie_e2e.dev_login(gw.base, "agent", balie_e2e.BSN_OTHER)
            citizen = balie_e2e.dev_login(gw.base, "citizen", balie_e2e.BSN_CITIZEN)

            async def ask(cookie, type_):
                ws = await balie_e2e.ws_connect(gw.base, cookie)
                try:
                    await ws.send(json.dumps({"type": type_, "id": 7}))
                    while True:
                        m = json.loads(await asyncio.wait_for(ws.recv(), timeout=3.0))
                        if m.get("id") == 7:
                            return m
                finally:
                    await ws.close()

            async def run():
                return [
                    await ask(agent, "hold"),
                    await ask(agent, "resume"),
                    await ask(citizen, "hold"),
                ]

            replies = asyncio.run(run())
            self.assertEqual([r.get("type") for r in replies], ["error"] * 3, replies)
            self.assertEqual([r.get("code") for r in replies], ["not_in_call", "not_in_call", "forbidden"])
        finally:
            rc = gw.stop()
        self.assertEqual(rc, 0, "the gateway did not stop cleanly")


if __name__ == "__main__":
    balie_e2e.run_tests()
