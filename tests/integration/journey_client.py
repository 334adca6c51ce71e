#!/usr/bin/python3
"""A citizen for tests/integration/test_journey.c: logs in with the dev provider, opens the
balie.v1 WebSocket and joins the queue.

    journey_client.py BASE_URL SUBJECT wait    join, print "queued", then hold the socket open
    journey_client.py BASE_URL SUBJECT leave   join, leave, print "left", close
    journey_client.py BASE_URL SUBJECT burstN  N sessions join at once, print "queued N", hold

The subject is read from argv and never printed."""
import asyncio
import http.client
import json
import sys
import urllib.parse

import websockets


def request(base, method, path, body=None, headers=None):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    r.read()
    return r


def login(base, subject):
    r = request(base, "GET", "/auth/login?provider=dev&return=/")
    assert r.status == 302, r.status
    state = urllib.parse.parse_qs(urllib.parse.urlparse(r.getheader("Location")).query)["state"][0]
    form = urllib.parse.urlencode({"state": state, "subject": subject, "loa": "substantieel",
                                   "role": "citizen", "name": "Test"})
    r = request(base, "POST", "/auth/dev/authorize", form,
                {"Content-Type": "application/x-www-form-urlencoded", "Origin": base})
    assert r.status == 303, r.status
    r = request(base, "GET", r.getheader("Location"))
    assert r.status == 303, r.status
    return r.getheader("Set-Cookie").split(";")[0]


async def expect(ws, kind):
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if msg.get("type") == kind:
            return msg
        if msg.get("type") == "error":
            raise RuntimeError(msg)


async def main(base, subject, mode):
    cookie = login(base, subject)
    uri = base.replace("http", "ws", 1) + "/ws"
    async with websockets.connect(uri, subprotocols=["balie.v1"], origin=base,
                                  extra_headers={"Cookie": cookie}) as ws:
        await ws.send(json.dumps({"type": "join", "id": 1}))
        await expect(ws, "queued")
        if mode == "leave":
            await ws.send(json.dumps({"type": "leave", "id": 2}))
            await expect(ws, "ack")
            print("left", flush=True)
            return
        print("queued", flush=True)
        await asyncio.wait_for(ws.wait_closed(), 60)  # until the gateway goes


async def burst(base, subject, n):
    """n sessions of one subject join at the same moment (the gateway writes their signals in
    few turns of its loop), print "queued N" once every one is queued, and hold on."""
    cookies = [login(base, subject) for _ in range(n)]
    uri = base.replace("http", "ws", 1) + "/ws"
    socks = [await websockets.connect(uri, subprotocols=["balie.v1"], origin=base,
                                      extra_headers={"Cookie": c}) for c in cookies]
    await asyncio.gather(*(ws.send(json.dumps({"type": "join", "id": 1})) for ws in socks))
    await asyncio.gather(*(expect(ws, "queued") for ws in socks))
    print(f"queued {n}", flush=True)
    await asyncio.wait_for(socks[0].wait_closed(), 60)  # until the gateway goes


if sys.argv[3].startswith("burst"):
    asyncio.run(burst(sys.argv[1], sys.argv[2], int(sys.argv[3][5:])))
else:
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
