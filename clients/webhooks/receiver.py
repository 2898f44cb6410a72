#!/usr/bin/env python3
"""A webhook receiver for CONNECT, standard library only: verifies each delivery's signature
(Standard Webhooks: HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>", keyed with the
base64-decoded secret after "whsec_"), refuses stale or unsigned ones, drops repeats of an event
it has seen, and prints one line per event.

    python3 receiver.py <port> <file holding the secret>

The secret is read from the file on every request, so it can be written after the receiver
starts (and replaced when the secret is rotated)."""

import base64
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

TOLERANCE_SECS = 300
seen = set()


def verify(secret: str, headers, body: bytes) -> bool:
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split(" ")
    if not msg_id or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECS:
        return False  # too old or from the future: a replay
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s) for s in signatures)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with open(sys.argv[2]) as f:
            secret = f.read().strip()
        if not verify(secret, self.headers, body):
            self.send_response(401)
            self.end_headers()
            return
        event = json.loads(body)
        if event["id"] not in seen:  # the same event may come again after a lost answer
            seen.add(event["id"])
            print(event["type"], json.dumps(event["data"], sort_keys=True), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
