#!/usr/bin/env python3
"""Instance metadata, container credentials and a recording S3 proxy on 127.0.0.1 (tests only).

  credstub.py UPSTREAM LOG LIFETIME [AUTH]

Serves, on one port:
  PUT /latest/api/token                              IMDSv2 session token (needs the TTL header)
  GET /latest/meta-data/iam/security-credentials/    the role name, "stub-role" (token required)
  GET /latest/meta-data/iam/security-credentials/stub-role   keys (token required)
  GET /container/credentials                         keys; the Authorization header must be AUTH
Every fetch of keys hands out new ones, STUBKEY<n> with secret and session token, expiring
LIFETIME seconds later. Any other request is forwarded to UPSTREAM (moto) unchanged. Each request
is logged to LOG as a JSON line {"time", "kind", "method", "path", "key"}: kind is imds-token,
imds-role, imds-keys, container or s3; key is the access key handed out (for keys) or the one in
the Authorization header (for s3); ssec is an S3 request's SSE-C key MD5 header, if any. Prints the port on its first output line and runs until its
stdin closes.
"""
import datetime
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from loopback import relay, serve

UPSTREAM = urlsplit(sys.argv[1])
LOG = open(sys.argv[2], "a", buffering=1)
LIFETIME = int(sys.argv[3])
AUTH = sys.argv[4] if len(sys.argv) > 4 else None
LOCK = threading.Lock()
COUNTER = [0]
TOKEN = "imds-session-token"


def log(kind, method, path, key=None, ssec=None):
    with LOCK:
        LOG.write(json.dumps({"time": time.time(), "kind": kind, "method": method, "path": path, "key": key, "ssec": ssec}) + "\n")


def new_keys():
    with LOCK:
        COUNTER[0] += 1
        n = COUNTER[0]
    expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=LIFETIME)
    return {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "STUBKEY%d" % n, "SecretAccessKey": "stubsecret%d" % n,
            "Token": "stubtoken%d" % n, "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        path = self.path
        if path == "/latest/api/token" and self.command == "PUT":
            log("imds-token", "PUT", path)
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.reply(400, "missing TTL")
            return self.reply(200, TOKEN)
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                log("imds-unauthorized", self.command, path)
                return self.reply(401, "")
            role = path[len("/latest/meta-data/iam/security-credentials/"):]
            if role == "":
                log("imds-role", self.command, path)
                return self.reply(200, "stub-role")
            if role != "stub-role":
                return self.reply(404, "")
            keys = new_keys()
            log("imds-keys", self.command, path, keys["AccessKeyId"])
            return self.reply(200, json.dumps(keys), "application/json")
        if path == "/container/credentials":
            if AUTH is not None and self.headers.get("Authorization") != AUTH:
                log("container-unauthorized", self.command, path)
                return self.reply(403, json.dumps({"code": "AccessDenied", "message": "bad token"}), "application/json")
            keys = new_keys()
            del keys["Code"], keys["Type"]
            log("container", self.command, path, keys["AccessKeyId"])
            return self.reply(200, json.dumps(keys), "application/json")
        self.forward()

    def forward(self):
        auth = self.headers.get("Authorization", "")
        key = auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else None
        log("s3", self.command, self.path, key, self.headers.get("x-amz-server-side-encryption-customer-key-MD5"))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        relay(self, UPSTREAM, body, timeout=60)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


if __name__ == "__main__":
    serve(Handler)
