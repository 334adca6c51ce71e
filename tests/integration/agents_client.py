#!/usr/bin/python3
"""Agents and citizens for tests/integration/test_agents.c, over the real balie.v1 WebSocket.

    agents_client.py BASE_URL AGENT_COOKIE [names]

With "names" the gateway runs with identity.show_citizen_name = true, and the agent must see the
name the citizen's provider gave.

The agent (already logged in with the local provider; its account may take `paspoort` only)
and citizens logged in with the dev provider at several levels. Each check prints one line,
"ok <what>" or "FAIL <what>: <detail>", and the exit status is the number of failures. No
subject, cookie or name is printed."""
import asyncio
import http.client
import json
import sys
import urllib.parse

import websockets

failures = 0


def check(what, cond, detail=""):
    global failures
    if cond:
        print(f"ok {what}", flush=True)
    else:
        failures += 1
        print(f"FAIL {what}: {detail}", flush=True)


def request(base, method, path, body=None, headers=None):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    r.read()
    return r


def citizen_login(base, subject, loa):
    r = request(base, "GET", "/auth/login?provider=dev&return=/")
    state = urllib.parse.parse_qs(urllib.parse.urlparse(r.getheader("Location")).query)["state"][0]
    form = urllib.parse.urlencode({"state": state, "subject": subject, "loa": loa,
                                   "role": "citizen", "name": "Test Persoon"})
    r = request(base, "POST", "/auth/dev/authorize", form,
                {"Content-Type": "application/x-www-form-urlencoded", "Origin": base})
    r = request(base, "GET", r.getheader("Location"))
    return r.getheader("Set-Cookie").split(";")[0]


async def connect(base, cookie):
    uri = base.replace("http", "ws", 1) + "/ws"
    return await websockets.connect(uri, subprotocols=["balie.v1"], origin=base,
                                    extra_headers={"Cookie": cookie})


async def answer(ws, req_id):
    """The ack or error for request `req_id`; other messages on the way are kept."""
    seen = []
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if msg.get("id") == req_id and msg.get("type") in ("ack", "error"):
            return msg, seen
        seen.append(msg)


async def queue_until(ws, wanted, seconds):
    """Queue messages for up to `seconds`: the first for which `wanted(waiting)` holds, or the
    last one seen (the gateway also resends the list every second while anyone waits)."""
    last = None
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        try:
            msg = json.loads(await asyncio.wait_for(ws.recv(), end - loop.time()))
        except asyncio.TimeoutError:
            break
        if msg.get("type") == "queue":
            last = msg
            if wanted(msg["waiting"]):
                return msg
    return last


async def main(base, agent_cookie, names):
    agent = await connect(base, agent_cookie)
    await agent.send(json.dumps({"type": "presence", "id": 1, "status": "available",
                                 "services": ["paspoort"]}))
    msg, _ = await answer(agent, 1)
    check("presence with an allowed service", msg["type"] == "ack", msg)

    await agent.send(json.dumps({"type": "presence", "id": 2, "status": "available",
                                 "services": ["paspoort", "algemeen"]}))
    msg, _ = await answer(agent, 2)
    check("presence with a service not allowed", msg.get("code") == "service_not_allowed", msg)

    await agent.send(json.dumps({"type": "presence", "id": 3, "status": "available"}))
    msg, _ = await answer(agent, 3)
    check("presence without services means the allowed ones", msg["type"] == "ack", msg)

    # A citizen at basis asks for paspoort (substantieel): refused, and told the level.
    low = await connect(base, citizen_login(base, "999991772", "basis"))
    await low.send(json.dumps({"type": "join", "id": 10, "service": "paspoort"}))
    msg, _ = await answer(low, 10)
    check("a citizen below the level is refused with loa_too_low",
          msg.get("code") == "loa_too_low" and msg.get("min_loa") == "substantieel", msg)
    check("the refusal names both levels", "substantieel" in msg.get("message", "")
          and "basis" in msg.get("message", ""), msg)

    # The same citizen may join algemeen (basis), which the agent's account does not take.
    await low.send(json.dumps({"type": "join", "id": 11, "service": "algemeen"}))
    msg, _ = await answer(low, 11)
    check("the citizen joins a service at its level", msg["type"] == "ack", msg)
    queue = await queue_until(agent, lambda w: len(w) > 0, 2.5)
    check("the agent does not see a service it may not take",
          queue is not None and queue["waiting"] == [], queue)
    await agent.send(json.dumps({"type": "accept", "id": 4}))
    msg, _ = await answer(agent, 4)
    check("nor can it take that call", msg.get("code") == "queue_empty", msg)

    # A citizen at substantieel joins paspoort: the agent sees and takes it.
    high = await connect(base, citizen_login(base, "111222333", "substantieel"))
    await high.send(json.dumps({"type": "join", "id": 20, "service": "paspoort"}))
    msg, _ = await answer(high, 20)
    check("a citizen at the level joins", msg["type"] == "ack", msg)
    queue = await queue_until(agent, lambda w: len(w) > 0, 10)
    waiting = queue["waiting"] if queue else []
    check("the agent sees the call with its level",
          len(waiting) == 1 and waiting[0]["service"] == "paspoort"
          and waiting[0]["loa"] == "substantieel", queue)
    await agent.send(json.dumps({"type": "accept", "id": 5}))
    msg, seen = await answer(agent, 5)
    call = next((m for m in seen if m.get("type") == "call"), None)
    while call is None:
        m = json.loads(await asyncio.wait_for(agent.recv(), 10))
        if m.get("type") == "call":
            call = m
    check("the agent takes it", msg["type"] == "ack", msg)
    peer = call.get("peer", {})
    check("the call names the citizen's level and provider",
          peer.get("loa") == "substantieel" and peer.get("provider") == "dev", call)
    if names:
        check("the name with identity.show_citizen_name", peer.get("display_name") == "Test Persoon",
              call)
    else:
        check("no name without identity.show_citizen_name", "display_name" not in peer, call)
    # Hang up: a socket that just closed would keep the call for the reconnect grace period.
    await agent.send(json.dumps({"type": "hangup", "id": 6}))
    await answer(agent, 6)
    for ws in (agent, low, high):
        await ws.close()


asyncio.run(main(sys.argv[1], sys.argv[2], len(sys.argv) > 3 and sys.argv[3] == "names"))
sys.exit(failures)
