import Foundation
import Testing
import TestSupport

/// Opens 2,100 idle TCP connections (more than the server's 2,048 slots), then times a normal
/// request from another client; prints JSON with the figures.
let idleFloodScript = #"""
import json, resource, socket, sys, time, urllib.parse, urllib.request
url = sys.argv[1]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
parts = urllib.parse.urlsplit(url)
idle = []
for _ in range(2100):
    s = socket.create_connection((parts.hostname, parts.port))
    idle.append(s)
time.sleep(0.5)
start = time.time()
body = urllib.request.urlopen(url + "api/status", timeout=10).read()
took = time.time() - start
# The evicted idle connections were closed by the server (recv sees EOF).
closed = 0
for s in idle[:60]:
    s.settimeout(0.05)
    try:
        if s.recv(1) == b"":
            closed += 1
    except (socket.timeout, ConnectionResetError):
        pass
print(json.dumps({"seconds": took, "status_ok": b"archiverRunning" in body, "evicted_seen": closed}))
"""#

@Suite("viewer connection cap")
struct ConnectionCapTests {
    @Test("2,100 idle connections do not lock a client out: the oldest idle ones are evicted, the request is answered at once")
    func idleFlood() throws {
        let viewer = try ViewerProcess()
        let r = try viewer.python(idleFloodScript)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        let result = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        #expect(result["status_ok"] as? Bool == true, "\(r.out)")
        #expect((result["seconds"] as? Double ?? 99) < 2, "\(r.out)")
        #expect((result["evicted_seen"] as? Int ?? 0) > 0, "the oldest idle connections were closed: \(r.out)")
    }
}
