"""The loopback server every stub and proxy in this folder runs on: a threading TCP server on
127.0.0.1 at a free port, which it prints on stdout; it serves until its stdin closes (the test
that started it ends)."""
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
