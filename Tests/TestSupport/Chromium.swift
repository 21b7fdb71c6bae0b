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
