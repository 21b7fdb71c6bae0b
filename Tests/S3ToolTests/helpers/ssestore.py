#!/usr/bin/env python3
"""An S3 proxy on 127.0.0.1 that gives SSE-KMS and SSE-C objects AWS's opaque ETags (tests only).

  ssestore.py UPSTREAM LOG

moto stores SSE-KMS objects with their MD5 as ETag and ignores SSE-C altogether. On AWS the
ETag of such an object is no MD5 of its bytes, and an SSE-C object's HEAD and GET need its key
and report the algorithm. This proxy in front of moto (UPSTREAM, http://host:port) does what
AWS does, as far as a client can see:
  - an object PUT (or a multipart upload created) with `x-amz-server-side-encryption: aws:kms`
    or with an SSE-C key is remembered as encrypted; its ETag, wherever it appears (PUT, part
    and completion answers, HEAD, GET, listings), becomes md5("opaque:" + real ETag) with the
    real "-N" suffix kept; part ETags the client sends back and If-Match are mapped back;
  - HEAD and GET of an SSE-C object without the same key MD5 are answered 400; with it, the
    answer carries x-amz-server-side-encryption-customer-algorithm and -key-MD5.
Every request is logged to LOG as a JSON line {"time", "method", "path", "query", "status"}.
Prints the port on its first output line and runs until stdin closes.
"""
import hashlib
import http.client
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from loopback import serve

UPSTREAM = urlsplit(sys.argv[1])
LOG = open(sys.argv[2], "a", buffering=1)
LOCK = threading.Lock()
ENCRYPTED = {}   # "/bucket/key" -> "kms" or "ssec:<key MD5>"
UPLOADS = {}     # upload id -> (path, kind)
REAL = {}        # opaque ETag (unquoted) -> real ETag (unquoted)


def opaque(real):
    real = real.strip('"')
    base, dash, parts = real.partition("-")
    fake = hashlib.md5(("opaque:" + base).encode()).hexdigest() + (dash + parts if dash else "")
    with LOCK:
        REAL[fake] = real
    return fake


def kind_of(headers):
    ssec = headers.get("x-amz-server-side-encryption-customer-key-MD5")
    if headers.get("x-amz-server-side-encryption-customer-algorithm") and ssec:
        return "ssec:" + ssec
    if headers.get("x-amz-server-side-encryption") in ("aws:kms", "aws:kms:dsse"):
        return "kms"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, headers, data, head=False):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)) if not head else dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def handle_any(self):
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        is_object = path.count("/") >= 2 and not path.endswith("/")
        stored = ENCRYPTED.get(path) if is_object else None
        status = None
        try:
            if stored and stored.startswith("ssec:") and self.command in ("GET", "HEAD") and not query.get("uploadId"):
                if self.headers.get("x-amz-server-side-encryption-customer-key-MD5") != stored[5:]:
                    status = 400
                    payload = b"" if self.command == "HEAD" else (
                        b"<?xml version=\"1.0\"?><Error><Code>InvalidRequest</Code><Message>The object was stored using a form of "
                        b"Server Side Encryption. The correct parameters must be provided to retrieve the object.</Message></Error>")
                    return self.reply(400, [("Content-Type", "application/xml")], payload)
            if "If-Match" in headers:
                headers["If-Match"] = '"%s"' % REAL.get(headers["If-Match"].strip('"'), headers["If-Match"].strip('"'))
            if self.command == "POST" and "uploadId" in query and body:
                body = re.sub(rb"<ETag>(&quot;|\")?([0-9a-f]{32}(?:-\d+)?)(&quot;|\")?</ETag>",
                              lambda m: b"<ETag>\"" + REAL.get(m.group(2).decode(), m.group(2).decode()).encode() + b"\"</ETag>", body)
                headers["Content-Length"] = str(len(body))
            upstream = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=120)
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            upstream.close()
            status = response.status
            out = response.getheaders()
            kind = None
            if is_object and 200 <= status < 300:
                if self.command == "PUT" and "partNumber" not in query:
                    kind = kind_of(self.headers)
                    with LOCK:
                        if kind:
                            ENCRYPTED[path] = kind
                        else:
                            ENCRYPTED.pop(path, None)
                elif self.command == "POST" and "uploads" in query:
                    m = re.search(rb"<UploadId>([^<]+)</UploadId>", data)
                    if m:
                        with LOCK:
                            UPLOADS[m.group(1).decode()] = (path, kind_of(self.headers))
                elif self.command == "PUT" and "partNumber" in query:
                    kind = UPLOADS.get(query["uploadId"][0], (None, None))[1]
                elif self.command == "POST" and "uploadId" in query:
                    kind = UPLOADS.get(query["uploadId"][0], (None, None))[1]
                    with LOCK:
                        if kind:
                            ENCRYPTED[path] = kind
                        else:
                            ENCRYPTED.pop(path, None)
                    if kind:
                        data = re.sub(rb"<ETag>(&quot;|\")?([0-9a-f]{32}(?:-\d+)?)(&quot;|\")?</ETag>",
                                      lambda m: b"<ETag>\"" + opaque(m.group(2).decode()).encode() + b"\"</ETag>", data)
                elif self.command == "DELETE":
                    with LOCK:
                        ENCRYPTED.pop(path, None)
                elif self.command in ("GET", "HEAD"):
                    kind = ENCRYPTED.get(path)
                if kind:
                    out = [(k, '"%s"' % opaque(v) if k.lower() == "etag" else v) for k, v in out]
                    if kind.startswith("ssec:") and self.command in ("GET", "HEAD", "PUT"):
                        out += [("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                                ("x-amz-server-side-encryption-customer-key-MD5", kind[5:])]
            elif not is_object and self.command == "GET" and status == 200 and b"<Contents>" in data:
                bucket = path.strip("/")

                def contents(m):
                    block = m.group(0)
                    key = re.search(rb"<Key>([^<]*)</Key>", block)
                    name = "/%s/%s" % (bucket, key.group(1).decode().replace("&amp;", "&")) if key else None
                    if name not in ENCRYPTED:
                        return block
                    return re.sub(rb"<ETag>(&quot;|\")?([0-9a-f]{32}(?:-\d+)?)(&quot;|\")?</ETag>",
                                  lambda e: b"<ETag>\"" + opaque(e.group(2).decode()).encode() + b"\"</ETag>", block)
                data = re.sub(rb"<Contents>.*?</Contents>", contents, data, flags=re.S)
            self.reply(status, out, data, head=self.command == "HEAD")
        finally:
            LOG.write(json.dumps({"time": time.time(), "method": self.command, "path": path, "query": split.query,
                                  "status": status}) + "\n")

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


if __name__ == "__main__":
    serve(Handler)
