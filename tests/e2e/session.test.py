#!/usr/bin/python3
"""A WebSocket lives only as long as the session that opened it: logging out closes it with
1008 within about a second (the gateway checks every open socket on its one-second tick), and
an open socket keeps its session alive (it is activity), so a long call is not cut by the idle
timeout. Run inside `unshare -n` (tests/e2e/run.sh)."""

import asyncio
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import balie_e2e  # noqa: E402


class SessionEnd(unittest.TestCase):
    def test_logout_closes_the_socket(self):
        with balie_e2e.Gateway() as gw:
            cookie = balie_e2e.dev_login(gw.base, role="citizen")
            other = balie_e2e.dev_login(gw.base, role="citizen", subject=balie_e2e.BSN_OTHER)

            async def run():
                ws = await balie_e2e.ws_connect(gw.base, cookie)
                ws2 = await balie_e2e.ws_connect(gw.base, other)
                status, _, _ = balie_e2e.http_request(
                    gw.base, "POST", "/auth/logout", body=b"",
                    headers={"Cookie": f"balie_session={cookie}", "Origin": gw.base,
                             "Content-Type": "application/x-www-form-urlencoded"})
                self.assertIn(status, (200, 303), "logout answered")
                try:
                    await asyncio.wait_for(ws.wait_closed(), timeout=3.0)
                except asyncio.TimeoutError:
                    self.fail("the socket of a logged-out session stayed open")
                self.assertEqual(ws.close_code, 1008, ws.close_reason)
                # Another person's socket is untouched and still answered.
                await ws2.send('{"type":"leave","id":1}')
                reply = await asyncio.wait_for(ws2.recv(), timeout=3.0)
                self.assertIn('"id":1', reply)
                await ws2.close()
                # And the logged-out cookie cannot open a new one.
                with self.assertRaises(Exception):
                    await balie_e2e.ws_connect(gw.base, cookie)

            asyncio.run(run())
            self.assertEqual(gw.stop(), 0)


if __name__ == "__main__":
    balie_e2e.run_tests()
