"""What the Python end-to-end tests share: start and stop the real gateway, log in through the
dev identity provider without a browser, and open the signaling WebSocket.

Run with Debian's /usr/bin/python3 (python3-aiortc, python3-websockets), on loopback only:
tests/e2e/run.sh puts every test inside `unshare -n` (see /work/shared/REAL-PEERS.md).
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GATEWAY = os.environ.get("E2E_GATEWAY", os.path.join(ROOT, "build", "dev", "balie-gateway"))
SUBPROTOCOL = "balie.v1"

# Test BSNs that pass the "elfproef" (11-test); never real ones.
BSN_CITIZEN = "999991772"
BSN_OTHER = "999993653"
BSN_THIRD = "999990032"

DEFAULT_CONFIG = """[http]
port = 0
[media]
workers = 1
port_base = 0
bind = "127.0.0.1"
[shutdown]
grace_s = 2
"""


def gateway_env():
    """Our environment without BALIE_* variables: the gateway reads every BALIE_<SECTION>_<KEY>
    as configuration and refuses names it does not know, and the test's config file decides."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BALIE_")}


class Gateway:
    """The real balie-gateway as a child process, its JSON log collected by a thread."""

    def __init__(self, config=DEFAULT_CONFIG, binary=GATEWAY):
        self.binary = binary
        # Its own data folder (keys, the journey store), gone with the test.
        self.dir = tempfile.mkdtemp(prefix="balie-e2e-")
        self.config_path = os.path.join(self.dir, "balie.conf")
        with open(self.config_path, "w") as f:
            f.write(f'[general]\ndata_dir = "{self.dir}/data"\n' + config)
        self.proc = None
        self.lines = []
        self.port = None
        self.media_ports = None  # (first, last) UDP port of the media workers
        self._cond = threading.Condition()

    @property
    def base(self):
        # `localhost`, not 127.0.0.1: the gateway checks Origin against the host it announces.
        return f"http://localhost:{self.port}"

    @property
    def origin(self):
        return self.base

    def start(self, timeout=10.0):
        self.proc = subprocess.Popen(
            [self.binary, "--config", self.config_path],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=gateway_env(),
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.port is None or self.media_ports is None:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError("the gateway did not start:\n" + self.log_text())
                self._cond.wait(min(left, 0.2))
        return self

    def _read(self):
        copy = os.environ.get("GATEWAY_LOG_COPY_DIR")
        copy_path = os.path.join(copy, f"e2e-py-{os.getpid()}-{id(self)}.log") if copy else None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if copy_path:  # for the privacy scan at the end of tests/run-all.sh
                with open(copy_path, "a") as f:
                    f.write(line + "\n")
            with self._cond:
                self.lines.append(line)
                msg = _msg(line)
                m = re.search(r"citizen page: https?://[^:/]+:(\d+)/", msg)
                if m:
                    self.port = int(m.group(1))
                m = re.search(r"media workers on UDP \S+ ports (\d+)-(\d+)", msg)
                if m:
                    self.media_ports = (int(m.group(1)), int(m.group(2)))
                self._cond.notify_all()
        self.proc.stdout.close()

    def wait_for_log(self, pattern, timeout=5.0):
        """The first log message matching `pattern` (a regex), or None after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if re.search(pattern, _msg(line)):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.2))

    def log_text(self, last=200):
        """The last lines of the log, each prefixed "gw| " (run-all.sh hides lines that start
        with the JSON log's `{"ts"`, and a failing test wants them seen)."""
        with self._cond:
            return "\n".join("gw| " + l for l in self.lines[-last:])

    def stop(self, timeout=10.0):
        """SIGTERM, then the exit code (128+N for a signal; SIGKILL after `timeout`)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = "killed after SIGTERM hung"
                self._cleanup()
                return rc
        rc = self.proc.returncode
        self._cleanup()
        return rc if rc >= 0 else 128 - rc

    def _cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _msg(line):
    try:
        return str(json.loads(line).get("msg", ""))
    except (ValueError, AttributeError):
        return line


def http_request(base, method, path, body=None, headers=None, timeout=5.0):
    """One request without following redirects: (status, headers as a list, body bytes)."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


def _header(headers, name):
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None


def _cookies(headers):
    out = {}
    for k, v in headers:
        if k.lower() == "set-cookie":
            pair = v.split(";", 1)[0]
            if "=" in pair:
                name, value = pair.split("=", 1)
                out[name.strip()] = value.strip()
    return out


def dev_login(base, role="citizen", subject=BSN_CITIZEN, loa="substantieel", name=""):
    """Logs in through the dev provider's form as a script would; returns the session cookie
    value. Raises AssertionError with the step that went wrong."""
    ret = "/agent" if role == "agent" else "/"
    st, hd, body = http_request(base, "GET", "/auth/login?provider=dev&return=" + urllib.parse.quote(ret, safe=""))
    loc = _header(hd, "Location")
    assert st == 302 and loc, f"/auth/login answered {st} {loc!r}: {body[:200]!r}"
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    assert urllib.parse.urlsplit(loc).path == "/auth/dev/authorize" and q.get("state"), f"login went to {loc!r}"
    state = q["state"][0]
    form = urllib.parse.urlencode(
        {"state": state, "return": ret, "subject": subject, "loa": loa, "role": role, "name": name}
    )
    st, hd, body = http_request(
        base,
        "POST",
        "/auth/dev/authorize",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": base},
    )
    loc = _header(hd, "Location")
    assert st in (302, 303) and loc, f"POST /auth/dev/authorize answered {st} {loc!r}: {body[:200]!r}"
    u = urllib.parse.urlsplit(loc)
    assert u.path == "/auth/callback/dev", f"the dev form sent us to {loc!r}"
    st, hd, body = http_request(base, "GET", u.path + "?" + u.query)
    cookie = _cookies(hd).get("balie_session")
    assert st in (302, 303) and cookie, f"/auth/callback/dev answered {st} without a session: {hd!r}"
    return cookie


def session_info(base, cookie):
    st, _, body = http_request(base, "GET", "/auth/session", headers={"Cookie": f"balie_session={cookie}"})
    assert st == 200, f"/auth/session answered {st}"
    return json.loads(body)


def healthz(base, timeout=2.0):
    try:
        return http_request(base, "GET", "/healthz", timeout=timeout)[0]
    except OSError as e:
        return f"no answer: {e}"


def metrics(base):
    """/metrics as {name: value}, each metric summed over its labels."""
    st, _, body = http_request(base, "GET", "/metrics")
    assert st == 200, f"/metrics answered {st}"
    out = {}
    for line in body.decode().splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
    return out


async def ws_connect(base, cookie=None, origin=None, subprotocol=SUBPROTOCOL, **kw):
    """Opens the signaling WebSocket the way a browser of `origin` would."""
    import websockets  # Debian python3-websockets

    url = "ws://" + urllib.parse.urlsplit(base).netloc + "/ws"
    headers = {}
    if cookie:
        headers["Cookie"] = f"balie_session={cookie}"
    return await websockets.connect(
        url,
        subprotocols=[subprotocol] if subprotocol else None,
        origin=origin if origin is not None else base,
        extra_headers=headers,
        open_timeout=5,
        max_size=1 << 20,
        **kw,
    )


PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "aiortc_peer.py")


class PeerProc:
    """tests/e2e/aiortc_peer.py as a child process; its JSON lines are collected by a thread."""

    def __init__(self, base, role, *extra):
        self.role = role
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", PEER, "--url", base, "--role", role, "--progress", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        self.events = []
        self.eof = False
        self.stderr = b""
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                ev = json.loads(raw)
            except ValueError:
                ev = {"event": "text", "text": raw.decode("utf-8", "replace").rstrip()}
            with self._cond:
                self.events.append(ev)
                self._cond.notify_all()
        self.proc.stdout.close()
        with self._cond:
            self.eof = True
            self._cond.notify_all()

    def _read_err(self):
        self.stderr = self.proc.stderr.read()
        self.proc.stderr.close()

    def wait_event(self, name, timeout, pred=lambda ev: True):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events:
                    if ev.get("event") == name and pred(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    return None
                self._cond.wait(min(left, 0.2))

    def progress(self):
        """The last (audio, video) decoded frame counts it reported, or (0, 0)."""
        with self._cond:
            for ev in reversed(self.events):
                if ev.get("event") == "progress":
                    return ev["audio"], ev["video"]
        return 0, 0

    def summary(self, timeout):
        ev = self.wait_event("summary", timeout)
        if ev is None and self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        return ev

    def describe(self):
        with self._cond:
            tail = [e for e in self.events if e.get("event") != "progress"][-8:]
        err = self.stderr.decode("utf-8", "replace")[-1500:]
        return f"{self.role} events: {json.dumps(tail)}\n{self.role} stderr: {err}"

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_tests():
    """unittest.main, with one line per test in node's spec format ("✔ name (N ms)" or "✖ …"),
    so tests/e2e/run.sh can list the cases of every runner alike."""
    import sys
    import unittest

    class Result(unittest.TextTestResult):
        def startTest(self, test):
            self._t0 = time.monotonic()
            super().startTest(test)

        def _line(self, mark, test, note=""):
            ms = (time.monotonic() - self._t0) * 1000
            self.stream.write(f"\n{mark} {test._testMethodName} ({ms:.0f}ms){note}\n")
            self.stream.flush()

        def addSuccess(self, test):
            super().addSuccess(test)
            self._line("✔", test)

        def addFailure(self, test, err):
            super().addFailure(test, err)
            self._line("✖", test)

        def addError(self, test, err):
            super().addError(test, err)
            self._line("✖", test)

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            self._line("﹣", test, f" # SKIP {reason}")

    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=Result)
    unittest.main(module="__main__", testRunner=runner)
