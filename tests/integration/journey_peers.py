#!/usr/bin/python3
"""A citizen and (when the scenario needs one) an agent on the real balie.v1 WebSocket, for
tests/integration/test_journey.c. Each scenario ends one session a known way; the script prints
one JSON line with what both sides saw, and the C test then reads the signal from the store.

    journey_peers.py BASE_URL SUBJECT SCENARIO [CONTEXT_TOKEN]

Scenarios: abandon (agent present, citizen leaves), noagent (no agent, citizen leaves),
timeout (no agent, the gateway ends the wait), bad_answer (the citizen answers the offer with
a broken SDP), hangup_early (the agent hangs up before any media), drop (the citizen's socket
closes during the call), context (join with CONTEXT_TOKEN; an agent takes the call and hangs
up). The subject is read from argv and never printed."""
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


def login(base, subject, role):
    ret = "/agent" if role == "agent" else "/"
    r = request(base, "GET", "/auth/login?provider=dev&return=" + urllib.parse.quote(ret, safe=""))
    assert r.status == 302, r.status
    state = urllib.parse.parse_qs(urllib.parse.urlparse(r.getheader("Location")).query)["state"][0]
    form = urllib.parse.urlencode({"state": state, "return": ret, "subject": subject,
                                   "loa": "substantieel", "role": role, "name": "Test Persoon"})
    r = request(base, "POST", "/auth/dev/authorize", form,
                {"Content-Type": "application/x-www-form-urlencoded", "Origin": base})
    assert r.status == 303, r.status
    r = request(base, "GET", r.getheader("Location"))
    assert r.status in (302, 303), r.status
    return r.getheader("Set-Cookie").split(";")[0]


class Peer:
    def __init__(self, ws):
        self.ws = ws
        self.seen = []  # every message, in order

    async def expect(self, kind, timeout=10):
        while True:
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            self.seen.append(msg)
            if msg.get("type") == kind:
                return msg
            if msg.get("type") == "error" and kind != "error":
                raise RuntimeError(json.dumps(msg))

    def first(self, kind):
        return next((m for m in self.seen if m.get("type") == kind), None)


async def connect(base, cookie):
    uri = base.replace("http", "ws", 1) + "/ws"
    ws = await websockets.connect(uri, subprotocols=["balie.v1"], origin=base,
                                  extra_headers={"Cookie": cookie})
    return Peer(ws)


async def agent_available(base):
    agent = await connect(base, login(base, "agent-7", "agent"))
    await agent.ws.send(json.dumps({"type": "presence", "id": "p", "status": "available"}))
    await agent.expect("ack")
    return agent


def silent_answer(offer):
    """A well-formed answer to the gateway's offer from a peer that will never run ICE: the
    call is set up on paper and then fails at the ICE stage (RFC 8445 time-out)."""
    out = []
    for line in offer.split("\r\n"):
        if line.startswith(("a=ice-lite", "a=candidate", "a=end-of-candidates")) or not line:
            continue
        if line.startswith("a=ice-ufrag:"):
            line = "a=ice-ufrag:silentpeer"
        elif line.startswith("a=ice-pwd:"):
            line = "a=ice-pwd:silentpeerpasswordpasswordxx"
        elif line.startswith("a=fingerprint:"):
            line = "a=fingerprint:sha-256 " + ":".join(["AB"] * 32)
        elif line.startswith("a=setup:"):
            line = "a=setup:active"
        elif line.startswith("a=ssrc:"):
            line = "a=ssrc:" + str(int(line[7:].split()[0]) ^ 0x5A5A) + " " + line.split(" ", 1)[1]
        out.append(line)
    return "\r\n".join(out) + "\r\n"


async def take_call(agent, citizen):
    await agent.expect("queue")
    while True:  # the queue message that lists the citizen
        q = agent.seen[-1]
        if q.get("waiting"):
            break
        await agent.expect("queue")
    await agent.ws.send(json.dumps({"type": "accept", "id": "a"}))
    await agent.expect("offer")
    await citizen.expect("offer")
    return q


def fetch(base, path, cookie=None):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    r = conn.getresponse()
    return r.status, r.getheader("Content-Type"), r.read().decode()


def mine(base, subject):
    """The citizen's own page and its JSON, with the citizen's, an agent's and no cookie."""
    out = {"scenario": "mine"}
    status, _, body = fetch(base, "/auth/me/signals", login(base, subject, "citizen"))
    out["citizen"] = {"status": status, "body": json.loads(body)}
    out["anonymous"] = fetch(base, "/auth/me/signals")[0]
    out["agent"] = fetch(base, "/auth/me/signals", login(base, "agent-7", "agent"))[0]
    status, ctype, page = fetch(base, "/contactmomenten")
    out["page"] = {"status": status, "type": ctype, "has_title": "Mijn contactmomenten" in page}
    print(json.dumps(out), flush=True)


async def main(base, subject, scenario, token):
    if scenario == "mine":
        return mine(base, subject)
    out = {"scenario": scenario}
    agent = await agent_available(base) if scenario not in ("noagent", "timeout", "wait_call") else None
    citizen = await connect(base, login(base, subject, "citizen"))
    join = {"type": "join", "id": "j"}
    if token:
        join["context"] = token
    await citizen.ws.send(json.dumps(join))
    if scenario == "context_refused":
        err = await citizen.expect("error")
        out["error"] = {"code": err.get("code"), "message": err.get("message")}
    else:
        await citizen.expect("queued")
    if scenario == "wait_call":  # an agent elsewhere (a browser) takes the call and hangs up
        out["call"] = await citizen.expect("call", 90)
        out["ended"] = await citizen.expect("ended", 90)
    elif scenario in ("abandon", "noagent"):
        await citizen.ws.send(json.dumps({"type": "leave", "id": "l"}))
        await citizen.expect("ack")
    elif scenario == "timeout":
        out["ended"] = await citizen.expect("ended", 30)
    elif scenario in ("bad_answer", "hangup_early", "drop", "context", "ice_fail"):
        out["queue"] = await take_call(agent, citizen)
        out["call"] = agent.first("call")
        if scenario == "ice_fail":
            for p in (citizen, agent):
                offer = next(m for m in p.seen if m.get("type") == "offer")
                await p.ws.send(json.dumps({"type": "answer", "id": "s", "sdp": silent_answer(offer["sdp"])}))
            out["ended"] = await agent.expect("ended", 50)
            out["history"] = agent.first("history")
        elif scenario == "bad_answer":
            await citizen.ws.send(json.dumps({"type": "answer", "id": "x", "sdp": "v=0\r\nbroken"}))
        elif scenario == "drop":
            await citizen.ws.close()
        else:
            await agent.ws.send(json.dumps({"type": "hangup", "id": "h"}))
        if scenario != "ice_fail":
            # A dropped socket is kept for reconnect.grace_s before the call ends.
            out["ended"] = await agent.expect("ended", 20 if scenario == "drop" else 10)
        try:
            out["history"] = agent.first("history") or await agent.expect("history", 1)
        except (asyncio.TimeoutError, RuntimeError):
            out["history"] = None
    for p in (citizen, agent):
        if p:
            await p.ws.close()
    print(json.dumps(out), flush=True)


asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None))
