"""The loopback server every stub and proxy in this folder runs on: a threading TCP server on
127.0.0.1 at a free port, which it prints on stdout; it serves until its stdin closes (the test
that started it ends)."""
import http.client
import socketserver
import sys
import threading


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(handler):
    server = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


# Headers of an upstream answer that belong to its connection, not to the answer relayed.
HOP_BY_HOP = ("connection", "transfer-encoding", "content-length", "server", "date")


def send_relayed_head(handler, response, data):
    """Sends an upstream `response` (body `data`, already read) as the handler's status and
    headers; a HEAD answer keeps the object's Content-Length, not that of its empty body."""
    handler.send_response(response.status)
    for k, v in response.getheaders():
        if k.lower() not in HOP_BY_HOP:
            handler.send_header(k, v)
    length = response.getheader("Content-Length") if handler.command == "HEAD" else None
    handler.send_header("Content-Length", length or str(len(data)))
    handler.end_headers()


def relay(handler, upstream, body, timeout=120):
    """Sends the handler's request (with `body`) to `upstream` (a urlsplit URL) and relays the
    answer whole."""
    conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=timeout)
    conn.request(handler.command, handler.path, body=body,
                 headers={k: v for k, v in handler.headers.items() if k.lower() != "connection"})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    send_relayed_head(handler, response, data)
    if handler.command != "HEAD":
        handler.wfile.write(data)
