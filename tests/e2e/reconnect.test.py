#!/usr/bin/python3
"""Reconnect at the protocol level (resume_session, DESIGN.md §4): a citizen whose WebSocket
drops keeps the place in line when a new socket of the same session presents the token of the
last `session` message within reconnect.grace_s; a token works once, only for its own person,
and only in time; a place nobody comes back for is given up. Run inside `unshare -n`
(tests/e2e/run.sh)."""

import asyncio
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import balie_e2e  # noqa: E402

GRACE_S = 3
CONFIG = balie_e2e.DEFAULT_CONFIG + f"[reconnect]\ngrace_s = {GRACE_S}\n"


async def expect(ws, kind, timeout=5.0):
    """The next message of type `kind` (others are skipped); an `error` fails at once."""
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg.get("type") == kind:
            return msg
        if msg.get("type") == "error" and kind != "error":
            raise AssertionError(f"expected {kind}, got {msg}")


async def join(ws):
    await ws.send(json.dumps({"type": "join", "id": 1}))
    await expect(ws, "ack")
    queued = await expect(ws, "queued")
    session = await expect(ws, "session")
    return queued, session


async def resume(base, cookie, token):
    ws = await balie_e2e.ws_connect(base, cookie)
    await ws.send(json.dumps({"type": "resume_session", "id": 7, "token": token}))
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5.0))
        if msg.get("id") == 7 and msg.get("type") in ("ack", "error"):
            return ws, msg


class Reconnect(unittest.TestCase):
    def test_place_kept_once_for_its_owner_and_in_time(self):
        with balie_e2e.Gateway(CONFIG) as gw:
            first = balie_e2e.dev_login(gw.base, subject=balie_e2e.BSN_CITIZEN)
            second = balie_e2e.dev_login(gw.base, subject=balie_e2e.BSN_OTHER)
            thief = balie_e2e.dev_login(gw.base, subject=balie_e2e.BSN_THIRD)

            async def run():
                ws1 = await balie_e2e.ws_connect(gw.base, first)
                q1, s1 = await join(ws1)
                self.assertEqual(q1["position"], 1)
                self.assertEqual(s1["grace_s"], GRACE_S)
                self.assertEqual(len(s1["token"]), 43)
                ws2 = await balie_e2e.ws_connect(gw.base, second)
                q2, _ = await join(ws2)
                self.assertEqual(q2["position"], 2)

                # The first citizen's connection drops: nobody behind moves up.
                await ws1.close()
                await asyncio.sleep(0.5)
                m = balie_e2e.metrics(gw.base)
                self.assertEqual(m.get("balie_reconnect_parked"), 1, m)
                self.assertEqual(m.get("balie_queue_waiting", 2), 2, m)

                # Another person holding the token gets nothing.
                ws_t, reply = await resume(gw.base, thief, s1["token"])
                self.assertEqual(reply["type"], "error", reply)
                self.assertEqual(reply["code"], "resume_failed")
                await ws_t.close()

                # The owner comes back: same call, same place, a fresh token.
                ws1b, reply = await resume(gw.base, first, s1["token"])
                self.assertEqual(reply["type"], "ack", reply)
                fresh = await expect(ws1b, "session")
                again = await expect(ws1b, "queued")
                self.assertEqual(again["call"], q1["call"])
                self.assertEqual(again["position"], 1)
                self.assertNotEqual(fresh["token"], s1["token"])

                # The old token is spent.
                ws_x, reply = await resume(gw.base, first, s1["token"])
                self.assertEqual(reply["code"], "resume_failed", reply)
                await ws_x.close()

                # Dropped and not back within the grace period: the place is given up, and the
                # citizen behind moves up.
                await ws1b.close()
                await asyncio.sleep(GRACE_S + 1.5)
                moved = await expect(ws2, "queue", timeout=5.0)
                while moved["position"] != 1:
                    moved = await expect(ws2, "queue", timeout=5.0)
                ws_late, reply = await resume(gw.base, first, fresh["token"])
                self.assertEqual(reply["code"], "resume_failed", reply)
                await ws_late.close()
                # Leaving on purpose is not a drop: nothing is kept.
                await ws2.send(json.dumps({"type": "leave", "id": 9}))
                await expect(ws2, "ack")
                await ws2.close()

            asyncio.run(run())
            m = balie_e2e.metrics(gw.base)
            self.assertEqual(m.get("balie_reconnect_resumed_total"), 1, m)
            self.assertEqual(m.get("balie_reconnect_expired_total"), 1, m)
            self.assertEqual(m.get("balie_reconnect_refused_total"), 3, m)
            self.assertEqual(m.get("balie_reconnect_parked"), 0, m)
            self.assertEqual(gw.stop(), 0)
            # Tokens are secrets: never in the log.
            self.assertNotIn('"token"', gw.log_text(1000))

    def test_off_when_grace_is_zero(self):
        config = balie_e2e.DEFAULT_CONFIG + "[reconnect]\ngrace_s = 0\n"
        with balie_e2e.Gateway(config) as gw:
            cookie = balie_e2e.dev_login(gw.base)

            async def run():
                ws = await balie_e2e.ws_connect(gw.base, cookie)
                await ws.send(json.dumps({"type": "join", "id": 1}))
                await expect(ws, "queued")
                # No token is handed out: the next message is nothing, not `session`.
                with self.assertRaises(asyncio.TimeoutError):
                    await expect(ws, "session", timeout=1.0)
                await ws.close()
                t0 = time.monotonic()
                while balie_e2e.metrics(gw.base).get("balie_queue_waiting", 0) and time.monotonic() - t0 < 3:
                    await asyncio.sleep(0.1)
                self.assertEqual(balie_e2e.metrics(gw.base).get("balie_queue_waiting", 0), 0)

            asyncio.run(run())
            self.assertEqual(gw.stop(), 0)


if __name__ == "__main__":
    balie_e2e.run_tests()
