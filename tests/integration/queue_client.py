#!/usr/bin/python3
"""Citizens and agents for tests/integration/test_queue_daemon.c: real balie.v1 WebSocket
clients against the real daemon, logged in through the dev provider.

    queue_client.py BASE race N             N rounds: two agents accept one call at once
    queue_client.py BASE appointment CODE   a walk-in, then an appointment; `accept` takes which
    queue_client.py BASE closed             a join while every service is closed
    queue_client.py BASE transfer           agent A transfers to agent B with a note
    queue_client.py BASE prioritize         an agent moves the last citizen to the urgent lane
    queue_client.py BASE assigned TOKEN     an appointment for agent B: agent A is not offered it
    queue_client.py BASE large              messages longer than the receive buffer, whole and
                                            in fragments, and one over the frame limit
    queue_client.py BASE fanout A W B       A agents, W waiting, then B joins at once: messages

Each prints result lines ("winner a", "served appointment", …) that the C test checks. Subjects
are test BSNs made here (they pass the 11-test), never printed."""
import asyncio
import datetime
import http.client
import json
import sys
import urllib.parse

import websockets


def bsn(n):
    """The n-th 9-digit number starting 1234 that passes the 11-test."""
    found = 0
    for v in range(123400000, 123499999):
        d = [int(c) for c in str(v)]
        s = sum(d[i] * (9 - i) for i in range(8)) - d[8]
        if s % 11 == 0:
            if found == n:
                return str(v)
            found += 1
    raise ValueError(n)


def request(base, method, path, body=None, headers=None):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    return r, data


def login(base, subject, role):
    r, _ = request(base, "GET", "/auth/login?provider=dev&return=/")
    assert r.status == 302, r.status
    state = urllib.parse.parse_qs(urllib.parse.urlparse(r.getheader("Location")).query)["state"][0]
    form = urllib.parse.urlencode({"state": state, "subject": subject, "loa": "substantieel",
                                   "role": role, "name": "Test"})
    r, _ = request(base, "POST", "/auth/dev/authorize", form,
                   {"Content-Type": "application/x-www-form-urlencoded", "Origin": base})
    assert r.status == 303, r.status
    r, _ = request(base, "GET", r.getheader("Location"))
    assert r.status == 303, r.status
    cookie = r.getheader("Set-Cookie").split(";")[0]
    _, body = request(base, "GET", "/auth/session", headers={"Cookie": cookie})
    return cookie, json.loads(body)


class Client:
    def __init__(self, base, subject, role):
        self.base = base
        self.cookie, self.session = login(base, subject, role)
        self.inbox = []
        self.waiters = []
        self.next_id = 1

    async def open(self):
        uri = self.base.replace("http", "ws", 1) + "/ws"
        self.ws = await websockets.connect(uri, subprotocols=["balie.v1"], origin=self.base,
                                           extra_headers={"Cookie": self.cookie})
        self.reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self):
        async for text in self.ws:
            self.inbox.append(json.loads(text))

    async def send(self, kind, **fields):
        rid = self.next_id
        self.next_id += 1
        await self.ws.send(json.dumps(dict(type=kind, id=rid, **fields)))
        return rid

    async def reply(self, rid, timeout=10):
        """The ack or error answering request `rid`."""
        return await self.expect(lambda m: m.get("id") == rid and m["type"] in ("ack", "error"),
                                 timeout)

    async def expect(self, pred, timeout=10):
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            for i, m in enumerate(self.inbox):
                if pred(m):
                    del self.inbox[i]
                    return m
            if loop.time() > end:
                raise TimeoutError(f"no matching message; inbox {self.inbox[-5:]}")
            await asyncio.sleep(0.01)

    async def type(self, kind, timeout=10):
        return await self.expect(lambda m: m["type"] == kind, timeout)

    async def request(self, kind, **fields):
        m = await self.reply(await self.send(kind, **fields))
        if m["type"] == "error":
            raise RuntimeError(f"{kind}: {m['code']}")
        return m

    async def close(self):
        await self.ws.close()
        self.reader.cancel()


async def agent(base, name):
    a = await Client(base, name, "agent").open()
    await a.request("presence", status="available")
    return a


async def citizen(base, n):
    return await Client(base, bsn(n), "citizen").open()


async def race(base, rounds):
    a, b = await agent(base, "agent.a"), await agent(base, "agent.b")
    wins = {"a": 0, "b": 0}
    for r in range(rounds):
        c = await citizen(base, r)
        await c.request("join")
        queued = await c.type("queued")
        call = queued["call"]
        ra = await a.send("accept", call=call)
        rb = await b.send("accept", call=call)
        ma, mb = await a.reply(ra), await b.reply(rb)
        kinds = sorted([ma["type"], mb["type"]])
        assert kinds == ["ack", "error"], (ma, mb)
        loser = mb if ma["type"] == "ack" else ma
        assert loser["code"] == "already_taken", loser
        winner, name = (a, "a") if ma["type"] == "ack" else (b, "b")
        wins[name] += 1
        got = await winner.type("call")
        assert got["call"] == call
        await c.type("call")
        await winner.request("hangup")
        await c.type("ended")
        await winner.type("ended")
        await c.close()
        # An agent that took calls back to back this fast would be rate-limited (20 messages a
        # second): a round takes at least 150 ms, as a person's would take far longer.
        await asyncio.sleep(0.15)
    print(f"rounds {rounds} wins {wins['a'] + wins['b']}", flush=True)


async def appointment(base, code):
    walk_in = await citizen(base, 0)
    await walk_in.request("join")
    await walk_in.type("queued")
    await asyncio.sleep(0.2)  # the walk-in clearly waited longer
    appt = await citizen(base, 1)
    await appt.request("join", appointment=code.lower())  # typed in lower case: still found
    q = await appt.type("queued")
    print(f"lane {q['lane']} position {q['position']}", flush=True)
    print("appointment start " + ("yes" if q.get("appointment", {}).get("start") else "no"),
          flush=True)
    late = await citizen(base, 2)
    again = await late.reply(await late.send("join", appointment=code))
    print(f"second use {again.get('code')}", flush=True)
    wrong = await late.reply(await late.send("join", appointment="ZZZZZZZZZZ"))
    print(f"wrong code {wrong.get('code')}", flush=True)
    a = await agent(base, "agent.a")
    queue = await a.expect(lambda m: m["type"] == "queue" and len(m.get("waiting", [])) == 2)
    first = queue["waiting"][0]
    print(f"agent sees first {first.get('lane')} start "
          + ("yes" if first.get("appointment_start") else "no"), flush=True)
    await a.request("accept")
    got_appt = await appt.expect(lambda m: m["type"] == "call", 5)
    print("served appointment" if got_appt else "served walk-in", flush=True)
    for c in (walk_in, appt, late, a):
        await c.close()


async def closed(base):
    c = await citizen(base, 0)
    m = await c.reply(await c.send("join"))
    print(f"join {m.get('code')} opens_at {m.get('opens_at')}", flush=True)
    svc = c.session["services"][0]
    print(f"session open {str(svc.get('open')).lower()} opens_at "
          + ("yes" if svc.get("opens_at") else "no"), flush=True)
    await c.close()


async def transfer(base):
    a, b = await agent(base, "agent.a"), await agent(base, "agent.b")
    c = await citizen(base, 0)
    await c.request("join")
    await c.type("queued")
    await a.request("accept")
    await a.type("call")
    await c.type("call")
    b_id = b.session["agent_id"]
    queue = await a.expect(lambda m: m["type"] == "queue"
                           and any(x["id"] == b_id for x in m.get("colleagues", [])))
    print("colleague listed", flush=True)
    bad = await a.reply(await a.send("transfer", agent="agent-nobody", note="x"))
    print(f"unknown colleague {bad.get('code')}", flush=True)
    await a.request("transfer", agent=b_id, note="Wil verhuizing doorgeven")
    ended = await a.type("ended")
    print(f"agent a {ended['reason']}", flush=True)
    t = await c.type("transferred")
    print(f"citizen told {t['to']}", flush=True)
    q = await c.type("queued")
    print(f"citizen lane {q['lane']} position {q['position']}", flush=True)
    entry = await b.expect(lambda m: m["type"] == "queue"
                           and any("notes" in x for x in m.get("waiting", [])))
    w = entry["waiting"][0]
    print(f"b sees note {w['notes'][0]['text']} from {w['notes'][0]['from_agent'] == a.session['agent_id']}",
          flush=True)
    again = await a.reply(await a.send("accept"))
    print(f"a may not take it {again.get('code')}", flush=True)
    await b.request("accept")
    call = await b.type("call")
    print(f"call peer note {call['peer']['notes'][0]['text']} transferred {call['peer'].get('transferred')}",
          flush=True)
    await c.type("call")
    await b.request("hangup")
    for x in (a, b, c):
        await x.close()


async def prioritize(base):
    a = await agent(base, "agent.a")
    cs = []
    for n in range(3):
        c = await citizen(base, n)
        await c.request("join")
        await c.type("queued")
        cs.append(c)
    last = cs[2]
    call = (await a.expect(lambda m: m["type"] == "queue" and len(m.get("waiting", [])) == 3))[
        "waiting"][2]["call"]
    await a.request("prioritize", call=call)
    moved = await last.expect(lambda m: m["type"] == "queue" and m.get("position") == 1)
    print(f"urgent citizen position {moved['position']} lane {moved['lane']}", flush=True)
    first = await cs[0].expect(lambda m: m["type"] == "queue" and m.get("position") == 2)
    print(f"first citizen position {first['position']}", flush=True)
    await a.request("accept")
    await last.type("call")
    print("served urgent", flush=True)
    for x in cs + [a]:
        await x.close()


async def assigned(base, token):
    a, b = await agent(base, "agent.a"), await agent(base, "agent.b")
    now = datetime.datetime.now(datetime.timezone.utc)
    body = json.dumps({"service": "algemeen", "agent": b.session["agent_id"],
                       "start": (now + datetime.timedelta(minutes=1)).isoformat(timespec="seconds"),
                       "end": (now + datetime.timedelta(minutes=20)).isoformat(timespec="seconds")})
    r, data = request(base, "POST", "/admin/v1/appointments", body,
                      {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    assert r.status == 201, (r.status, data)
    code = json.loads(data)["code"]
    c = await citizen(base, 0)
    await c.request("join", appointment=code)
    await c.type("queued")
    seen = await b.expect(lambda m: m["type"] == "queue" and m.get("waiting"))
    print(f"b sees it assigned {seen['waiting'][0].get('assigned') == b.session['agent_id']}",
          flush=True)
    await asyncio.sleep(1.5)  # a few queue rounds: a must still see nothing
    a_rows = [m for m in a.inbox if m["type"] == "queue" and m.get("waiting")]
    print(f"a sees it {bool(a_rows)}", flush=True)
    named = await a.reply(await a.send("accept", call=seen["waiting"][0]["call"]))
    print(f"a accepts it {named.get('code')}", flush=True)
    await b.request("accept", call=seen["waiting"][0]["call"])
    await c.type("call")
    print("served by b", flush=True)
    for x in (a, b, c):
        await x.close()


async def large(base):
    """Messages longer than a few kB (a description can be) must arrive whole, also when the
    browser sends them in fragments."""
    c = await citizen(base, 0)
    pad = " " * 20000
    await c.ws.send('{"type":"join","id":1' + pad + '}')
    m = await c.reply(1)
    print(f"long join {m['type']}", flush=True)
    await c.type("queued")
    text = '{"type":"leave","id":2' + pad + '}'
    await c.ws.send(iter([text[:3000], text[3000:9000], text[9000:]]))
    m = await c.reply(2)
    print(f"fragmented leave {m['type']}", flush=True)
    await c.ws.send('{"type":"join","id":3' + " " * 70000 + '}')
    try:
        await asyncio.wait_for(c.ws.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    print(f"oversized closed {c.ws.close_code}", flush=True)
    c.reader.cancel()


def count_queue(client):
    n = sum(1 for m in client.inbox if m["type"] == "queue")
    client.inbox.clear()
    return n


async def fanout(base, agents, waiting, burst):
    """How many queue messages each client gets for a burst of changes: every idle agent a
    bounded few (the broadcasts are coalesced), an agent in a call none, a waiting citizen none
    when its place did not change, and exactly one when it did."""
    idle = [await agent(base, f"agent.{i}") for i in range(agents)]
    busy = await agent(base, "agent.busy")
    first = await citizen(base, 0)
    await first.request("join")
    await first.type("queued")
    await busy.request("accept")
    await busy.type("call")
    line = []
    for n in range(waiting):
        c = await citizen(base, 1 + n)
        await c.request("join")
        await c.type("queued")
        line.append(c)
    late = [await citizen(base, 1 + waiting + n) for n in range(burst)]
    await asyncio.sleep(1.2)  # settled, and past a one-second queue round of the agents
    for c in idle + [busy] + line:
        c.inbox.clear()
    # The burst: every join sent at once, behind everyone already waiting.
    ids = await asyncio.gather(*(c.send("join") for c in late))
    await asyncio.gather(*(c.reply(rid) for c, rid in zip(late, ids)))
    await asyncio.sleep(0.5)
    per_agent = [count_queue(a) for a in idle]
    print(f"agents max {max(per_agent)}: at most 4 {max(per_agent) <= 4}", flush=True)
    print(f"busy agent {count_queue(busy)}", flush=True)
    print(f"waiting citizens max {max(count_queue(c) for c in line)}", flush=True)
    # One change that moves everyone up: the head of the line leaves.
    await line[0].request("leave")
    await asyncio.sleep(0.5)
    moved = [count_queue(c) for c in line[1:] + late]
    print(f"moved up min {min(moved)} max {max(moved)}", flush=True)
    per_agent = [count_queue(a) for a in idle]
    print(f"agents after leave at most 2 {max(per_agent) <= 2}", flush=True)
    # A colleague logging in still reaches the agent in a call (its transfer targets).
    newcomer = await agent(base, "agent.new")
    new_id = newcomer.session["agent_id"]
    await busy.expect(lambda m: m["type"] == "queue"
                      and any(x["id"] == new_id for x in m.get("colleagues", [])), 5)
    print("busy agent hears of a new colleague", flush=True)
    for x in idle + [busy, first, newcomer] + line + late:
        await x.close()


async def main():
    base, mode = sys.argv[1], sys.argv[2]
    if mode == "race":
        await race(base, int(sys.argv[3]))
    elif mode == "appointment":
        await appointment(base, sys.argv[3])
    elif mode == "closed":
        await closed(base)
    elif mode == "transfer":
        await transfer(base)
    elif mode == "prioritize":
        await prioritize(base)
    elif mode == "large":
        await large(base)
    elif mode == "assigned":
        await assigned(base, sys.argv[3])
    elif mode == "fanout":
        await fanout(base, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))


asyncio.run(main())
