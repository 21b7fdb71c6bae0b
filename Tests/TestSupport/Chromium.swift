import Foundation

// Headless Chromium for the viewer tests (chromium from Debian, websocket-client from PyPI).

/// Starts headless Chromium and defines call/js/wait_for over the DevTools protocol: the prefix of
/// every browser script (the viewer tests and the archive tests that watch a run in the viewer).
/// Arguments: viewer URL, state folder, archive-cache binary, screenshot path, viewer PID.
public let chromiumPrelude = #"""
import json, os, shutil, subprocess, sys, tempfile, time, urllib.request, base64, websocket
url, home, tool, shot, serve_pid = sys.argv[1:6]
browser = shutil.which("chromium") or shutil.which("chromium-browser")
assert browser, "chromium is not installed (scripts/setup installs it)"
profile = tempfile.mkdtemp()
chrome = subprocess.Popen([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                           "--user-data-dir=" + profile, "--window-size=1400,900", "about:blank"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    port_file = os.path.join(profile, "DevToolsActivePort")
    deadline = time.time() + 60
    while not (os.path.exists(port_file) and len(open(port_file).read().split()) >= 2):
        assert time.time() < deadline and chrome.poll() is None, "chromium did not start"
        time.sleep(0.1)
    port = open(port_file).read().split()[0]
    targets = json.load(urllib.request.urlopen("http://127.0.0.1:%s/json" % port))
    page = next(t for t in targets if t["type"] == "page")
    cdp = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
    ids = iter(range(1, 10**6))
    def call(method, **params):
        n = next(ids)
        cdp.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            m = json.loads(cdp.recv())
            if m.get("id") == n:
                assert "error" not in m, m
                return m["result"]
    def js(expr):
        r = call("Runtime.evaluate", expression=expr, returnByValue=True)
        assert "exceptionDetails" not in r, r
        return r["result"].get("value")
    def wait_for(expr, what):
        deadline = time.time() + 30
        while not js(expr):
            if time.time() > deadline:
                print("timed out waiting for " + what + "; body: " + str(js("document.body.innerText"))[:2000])
                sys.exit(1)
            time.sleep(0.05)

"""#

/// The end of every browser script: stops Chromium and removes its profile, whatever the body did.
public let chromiumEpilogue = #"""
finally:
    chrome.terminate()
    try:
        chrome.wait(10)
    except Exception:
        chrome.kill()
    shutil.rmtree(profile, ignore_errors=True)
"""#

/// A whole browser script: `chromiumPrelude`, `body` (indented four spaces, inside the prelude's
/// `try:`), then `chromiumEpilogue`.
public func chromiumScript(_ body: String) -> String { chromiumPrelude + body + "\n" + chromiumEpilogue }

/// `archive-cache serve --port 0` with `environment`, stopped when the value goes away.
public final class ViewerServer: @unchecked Sendable {
    public let process = Process()
    /// `http://127.0.0.1:PORT/`, as serve printed it.
    public let url: String

    public init(environment: [String: String], arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: Package.tool("archive-cache"))
        process.arguments = ["serve", "--port", "0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(10) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        url = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard url.hasPrefix("http://") else { throw TestFailure("serve printed no URL: \(url)") }
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
