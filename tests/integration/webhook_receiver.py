#!/usr/bin/python3
"""A webhook receiver for tests/integration/test_journey_webhook.c: listens on 127.0.0.1:PORT,
answers the first FAIL_FIRST POSTs with 503 and the rest with 201, and appends one JSON line
per request to LOG (status given, Idempotency-Key, Authorization, Content-Type, body).

    webhook_receiver.py PORT LOG FAIL_FIRST"""
import http.server
import json
import sys
import threading

PORT, LOG, FAIL_FIRST = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
seen = {"n": 0}


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        with lock:
            seen["n"] += 1
            status = 503 if seen["n"] <= FAIL_FIRST else 201
            with open(LOG, "a") as f:
                f.write(json.dumps({
                    "status": status, "path": self.path,
                    "key": self.headers.get("Idempotency-Key"),
                    "authorization": self.headers.get("Authorization"),
                    "type": self.headers.get("Content-Type"),
                    "body": json.loads(body)}) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Hook).serve_forever()
