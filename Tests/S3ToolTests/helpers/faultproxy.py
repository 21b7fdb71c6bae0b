#!/usr/bin/env python3
"""A fault-injecting HTTP proxy on 127.0.0.1 in front of an S3 endpoint (tests only).

  faultproxy.py UPSTREAM RATE LOG [KINDS [MAX_FAULTS]]

Forwards each request to UPSTREAM (http://host:port). A share RATE (0..1) of requests fails,
chosen deterministically (request n fails when floor((n+1)*RATE) > floor(n*RATE), so 0.1 fails
exactly every tenth request and a test can rely on faults happening), the kind cycling through KINDS:
answered 500 InternalError or 503 SlowDown without forwarding, the connection dropped before
forwarding, forwarded and then the connection dropped (the response is lost), or, for a GET,
the response cut off after half its body (the client must resume with a Range). Every request
is logged to LOG as a JSON line {"time", "method", "path", "range", "fault"}. KINDS (comma-separated)
limits the faults to some of: 500, 503, drop-before, drop-after, truncate, 403-part (an UploadPart
answered 403 AccessDenied; other requests pass), expired-token (400 ExpiredToken), invalid-token
(400 InvalidToken), request-expired (403 RequestExpired); a kind written KIND@METHOD hits only
requests with that method (expired-token@PUT); MAX_FAULTS stops
injecting after that many. Prints the port on its
first output line and runs until stdin closes.
"""
import http.client
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from loopback import send_relayed_head, serve

UPSTREAM = urlsplit(sys.argv[1])
RATE = float(sys.argv[2])
LOG = open(sys.argv[3], "a", buffering=1)
MAX_FAULTS = int(sys.argv[5]) if len(sys.argv) > 5 else None
LOCK = threading.Lock()
INJECTED = [0]
SEEN = [0]
FAULTS = sys.argv[4].split(",") if len(sys.argv) > 4 else ["500", "503", "drop-before", "drop-after", "truncate"]


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with LOCK:
            n = SEEN[0]
            SEEN[0] += 1
            fault = None
            if int((n + 1) * RATE) > int(n * RATE):
                usable = [k for k in FAULTS if (k != "truncate" or self.command == "GET")
                          and (k != "403-part" or (self.command == "PUT" and "partNumber=" in self.path))
                          and ("@" not in k or k.split("@", 1)[1] == self.command)]
                fault = usable[INJECTED[0] % len(usable)].split("@", 1)[0] if usable else None
            if fault and MAX_FAULTS is not None and INJECTED[0] >= MAX_FAULTS:
                fault = None
            if fault:
                INJECTED[0] += 1
            LOG.write(json.dumps({"time": time.time(), "method": self.command, "path": self.path,
                                  "range": self.headers.get("Range"), "fault": fault}) + "\n")
        if fault == "drop-before":
            self.close_connection = True
            self.connection.close()
            return
        answers = {"500": (500, "InternalError"), "503": (503, "SlowDown"), "403-part": (403, "AccessDenied"),
                   "expired-token": (400, "ExpiredToken"), "invalid-token": (400, "InvalidToken"),
                   "request-expired": (403, "RequestExpired")}
        if fault in answers:
            status, code = answers[fault]
            payload = ("<?xml version=\"1.0\"?><Error><Code>%s</Code><Message>injected</Message></Error>" % code).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            return
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=300)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")}
        conn.request(self.command, self.path, body=body if body or self.command in ("PUT", "POST") else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        if fault == "drop-after":
            self.close_connection = True
            self.connection.close()
            return
        send_relayed_head(self, response, data)
        if self.command == "HEAD":
            return
        if fault == "truncate" and self.command == "GET" and len(data) > 1:
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.close()
            return
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


if __name__ == "__main__":
    serve(Proxy)
