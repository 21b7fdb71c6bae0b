#!/usr/bin/env python3
"""A bucket in another region, as AWS answers a client that signs for the wrong one (tests only).

  regionstub.py UPSTREAM LOG REGION HEADBUCKET_STATUS

An HTTP proxy on 127.0.0.1 in front of UPSTREAM (moto). The bucket behind it lives in REGION:
a request signed (SigV4 credential scope) for another region is refused as AWS refuses it —
a HeadBucket with HEADBUCKET_STATUS (301 as from another region's endpoint, 400, or 403) and
the header x-amz-bucket-region: REGION; any other request with 400
AuthorizationHeaderMalformed naming the expected region, with the same header. Requests signed
for REGION (and unsigned ones) are forwarded. Each request is logged to LOG as a JSON line
{"method", "path", "region"} (region: the one it was signed for). Prints the port on its first
output line and runs until stdin closes.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from loopback import relay, serve

UPSTREAM = urlsplit(sys.argv[1])
LOG = open(sys.argv[2], "a", buffering=1)
REGION = sys.argv[3]
HEADBUCKET_STATUS = int(sys.argv[4])
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        path = urlsplit(self.path).path
        auth = self.headers.get("Authorization", "")
        region = auth.split("Credential=", 1)[1].split(",")[0].split("/")[2] if "Credential=" in auth else None
        with LOCK:
            LOG.write(json.dumps({"method": self.command, "path": self.path, "region": region}) + "\n")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if region is not None and region != REGION:
            where = [("x-amz-bucket-region", REGION), ("Content-Type", "application/xml")]
            if self.command == "HEAD" and path.strip("/").count("/") == 0:
                return self.answer(HEADBUCKET_STATUS, b"", where)
            error = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization "
                     "header is malformed; the region '%s' is wrong; expecting '%s'</Message><Region>%s</Region></Error>" % (region, REGION, REGION))
            return self.answer(400, error.encode(), where)
        relay(self, UPSTREAM, body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


if __name__ == "__main__":
    serve(Handler)
