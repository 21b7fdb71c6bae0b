// Python clients the viewer tests run (websocket-client from PyPI, Chromium over DevTools).
// Arguments: viewer URL, state folder, archive-cache binary, then extras.

import TestSupport

/// Connect, read cache+status, change the cache, expect a delta message naming the change (≤ 5 s), ping → pong.
let webSocketScript = #"""
import json, subprocess, sys, websocket
url, home, tool = sys.argv[1:4]
ws = websocket.create_connection(url.replace("http://", "ws://") + "ws", timeout=5)
first = [json.loads(ws.recv()) for _ in range(2)]
types = sorted(m["type"] for m in first)
assert types == ["cache", "status"], types
assert "tables" in next(m for m in first if m["type"] == "cache")["data"]
assert "archiverRunning" in next(m for m in first if m["type"] == "status")["data"]
line = '{"bucket":"bkt","key":"new-key","size":5,"md5":"0123456789abcdef0123456789abcdef","etag":"0123456789abcdef0123456789abcdef","parts":1,"part_size":5,"skipped":false}'
subprocess.run([tool, "record", "--table", "flights", "--path-template", "p"], input=line.encode(), check=True, stdout=subprocess.DEVNULL)
while True:  # the 5 s socket timeout bounds the wait
    m = json.loads(ws.recv())
    if m["type"] == "delta":
        keys = [e["partition"] for e in m["data"]["changed"]]
        assert keys == ["new-key"], keys
        assert m["data"]["count"] == 1 and m["data"]["removed"] == [], m
        break
ws.ping(b"hello")
frame = ws.recv_data_frame(True)
while frame[0] != websocket.ABNF.OPCODE_PONG:
    frame = ws.recv_data_frame(True)
assert frame[1].data == b"hello", frame[1].data
ws.close()
print("ok")
"""#

/// Headless Chromium over the DevTools protocol: wait for the DOM to show the data, then check it.
let browserScript = chromiumScript(#"""
    call("Page.enable")
    call("Page.navigate", url=url)
    wait_for("document.querySelectorAll('#entries tbody tr').length === 3 && document.getElementById('conn').textContent === 'live'", "three rows and a live connection")
    text = lambda id: js("document.getElementById(%s).textContent" % json.dumps(id))
    assert text("stat-total") == "3", text("stat-total")
    assert text("stat-uploaded") == "1" and text("stat-errors") == "2", (text("stat-uploaded"), text("stat-errors"))
    assert text("stat-rows") == "1,200", text("stat-rows")
    assert text("stat-ratio") == "8.00×", text("stat-ratio")
    assert text("run-state") == "running", text("run-state")
    assert text("task-step") == "uploading", text("task-step")
    # One slice done, one half way, one with all its rows: the bar counts the slices under way.
    assert text("progress-text") == "1 / 4 slices done (62.5%)", text("progress-text")
    # Markup in a key and an error is shown as text and never runs; the partition column shows
    # the slice's name, the key is its tooltip.
    cells = js("Array.from(document.querySelectorAll('#entries tbody td.c-partition, #entries tbody td.c-lastError')).map(c => c.textContent)")
    titles = js("Array.from(document.querySelectorAll('#entries tbody td.c-partition')).map(c => c.title)")
    assert '<img src=x onerror="window.__xss=1">' in titles, titles
    assert "archives/flights/2024/flights-2024-01-01.jsonl.zst" in titles, titles
    assert "flights-2024-01-01" in cells, cells
    assert "query: <script>window.__xss=2</script>" in cells, cells
    # Every busy worker has a line: slice, stage, rows against the expected rows, bytes.
    wait_for("document.querySelectorAll('#workers .worker').length === 2", "two worker lines")
    workers = js("Array.from(document.querySelectorAll('#workers .worker')).map(w => w.textContent)")
    assert "compressing" in workers[0] and "600 / 1,200 rows" in workers[0], workers
    assert "uploading" in workers[1] and "flights-2024-01-02" in workers[1], workers
    # A long error stays one row high; a click shows all of it.
    error_cell = "Array.from(document.querySelectorAll('#entries tbody td.c-lastError')).find(c => c.textContent.length > 100)"
    one = js(error_cell + ".getBoundingClientRect().height")
    row = js("document.querySelector('#entries tbody td.c-rowCount').getBoundingClientRect().height")
    assert one <= row + 1, (one, row)
    js(error_cell + ".click()")
    assert js(error_cell + ".getBoundingClientRect().height") > row * 2
    assert js("typeof window.__xss") == "undefined"
    assert js("document.querySelectorAll('#entries tbody img, #entries tbody script').length") == 0
    # Sorting by rows puts the error row (no rows) first, then descending puts it last.
    js("document.querySelector('th[data-key=rowCount]').click()")
    wait_for("document.querySelector('#entries tbody tr').dataset.partition.startsWith('<img')", "the error row first")
    js("document.querySelector('th[data-key=rowCount]').click()")
    wait_for("document.querySelector('#entries tbody tr').dataset.partition.startsWith('archives/')", "the archived row first")
    # A change arrives live: a new row, updated stats, the changed cell highlighted.
    line = '{"bucket":"bkt","key":"archives/flights/2024/flights-2024-01-01.jsonl.zst","size":20000,"md5":"0123456789abcdef0123456789abcdef","etag":"0123456789abcdef0123456789abcdef","parts":1,"part_size":5,"skipped":false}'
    line2 = line.replace("01-01", "01-03")
    subprocess.run([tool, "record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}"], input=(line + "\n" + line2).encode(), check=True, stdout=subprocess.DEVNULL)
    wait_for("document.querySelectorAll('#entries tbody tr').length === 4 && document.getElementById('stat-total').textContent === '4'", "the fourth row")
    wait_for("document.querySelector('#entries tbody td.c-fileSize.changed') !== null || Array.from(document.querySelectorAll('#entries tbody td.c-fileSize')).some(c => c.textContent === '19.5 KiB')", "the changed size")
    # Filtering by search hides other rows.
    js("const s = document.getElementById('search'); s.value = '01-03'; s.dispatchEvent(new Event('input'))")
    wait_for("Array.from(document.querySelectorAll('#entries tbody tr')).filter(r => !r.hidden).length === 1", "one row found")
    js("(() => { const s = document.getElementById('search'); s.value = ''; s.dispatchEvent(new Event('input')); })()")
    data = call("Page.captureScreenshot", format="png")["data"]
    open(shot, "wb").write(base64.b64decode(data))
    # The run ends (its PID file goes), then the viewer stops with it: the page keeps the final
    # state and says so, rather than "disconnected – retrying".
    os.remove(os.path.join(home, "archiver.pid"))
    wait_for("document.getElementById('run-state').textContent === 'idle'", "the idle state")
    os.kill(int(serve_pid), 15)
    wait_for("document.getElementById('conn').textContent.startsWith('run finished')", "the final state")
    data = call("Page.captureScreenshot", format="png")["data"]
    open(shot.replace(".png", "-after.png"), "wb").write(base64.b64decode(data))
    cdp.close()
    print("ok")
"""#)

/// 100,000 entries: the first page renders, pages, server-side sort and search, a live change; the DOM stays at one page.
let bigBrowserScript = chromiumScript(#"""
    call("Page.enable")
    started = time.time()
    call("Page.navigate", url=url)
    wait_for("document.querySelectorAll('#entries tbody tr').length === 100 && document.getElementById('conn').textContent === 'live'", "the first page")
    print("first page after %.2f s" % (time.time() - started))
    text = lambda id: js("document.getElementById(%s).textContent" % json.dumps(id))
    first = lambda: js("document.querySelector('#entries tbody tr').dataset.partition")
    assert text("stat-total") == "100,000", text("stat-total")
    assert text("shown").startswith("1–100 of 100,000"), text("shown")
    assert first() == "archives/big/2024/big-000000.jsonl.zst", first()
    js("document.getElementById('page-next').click()")
    wait_for("document.querySelector('#entries tbody tr').dataset.partition === 'archives/big/2024/big-000100.jsonl.zst'", "the second page")
    # Sorted on the server: the largest file first.
    js("document.querySelector('th[data-key=fileSize]').click()")
    wait_for("document.querySelector('#entries tbody tr').dataset.partition === 'archives/big/2024/big-000000.jsonl.zst'", "ascending size")
    js("document.querySelector('th[data-key=fileSize]').click()")
    wait_for("document.querySelector('#entries tbody tr').dataset.partition === 'archives/big/2024/big-099999.jsonl.zst'", "descending size")
    # Searched on the server: ten keys hold big-05000.
    js("{ const s = document.getElementById('search'); s.value = 'big-05000'; s.dispatchEvent(new Event('input')); }")
    wait_for("document.querySelectorAll('#entries tbody tr').length === 10 && document.getElementById('stat-total').textContent === '10'", "ten matches")
    # A change arrives live in a row on screen.
    line = '{"bucket":"bkt","key":"archives/big/2024/big-050003.jsonl.zst","size":77777777,"md5":"0123456789abcdef0123456789abcdef","etag":"0123456789abcdef0123456789abcdef","parts":1,"part_size":5,"skipped":false}'
    subprocess.run([tool, "record", "--table", "big", "--path-template", "archives/{table}/{YYYY}"], input=line.encode(), check=True, stdout=subprocess.DEVNULL)
    wait_for("Array.from(document.querySelectorAll('#entries tbody td.c-fileSize')).some(c => c.textContent === '74.2 MiB')", "the changed size")
    wait_for("document.querySelector('#entries tbody tr').dataset.partition === 'archives/big/2024/big-050003.jsonl.zst'", "the changed row sorted first")
    # The page holds one page of rows, never the cache.
    assert js("document.querySelectorAll('#entries tbody tr').length") == 10
    js("{ const s = document.getElementById('search'); s.value = ''; s.dispatchEvent(new Event('input')); }")
    wait_for("document.querySelectorAll('#entries tbody tr').length === 100 && document.getElementById('stat-total').textContent === '100,000'", "all again")
    cdp.close()
    print("ok")
"""#)


/// 200 WebSocket clients, 1,000 REST requests over 10 keep-alive connections, then one change all clients must see.
let loadScript = #"""
import http.client, json, subprocess, sys, threading, time, websocket
from urllib.parse import urlparse
url, home, tool = sys.argv[1:4]
u = urlparse(url)
errors = []
clients = []
lock = threading.Lock()
def open_client():
    try:
        ws = websocket.create_connection(url.replace("http://", "ws://") + "ws", timeout=20)
        got = sorted(json.loads(ws.recv())["type"] for _ in range(2))
        assert got == ["cache", "status"], got
        with lock:
            clients.append(ws)
    except Exception as e:
        with lock:
            errors.append("ws connect: %r" % e)
threads = [threading.Thread(target=open_client) for _ in range(200)]
for t in threads: t.start()
for t in threads: t.join(60)
paths = ["/api/cache", "/api/status", "/metrics", "/", "/app.js"]
counts = [0] * 10
def rest(n):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    for i in range(100):
        path = paths[i % len(paths)]
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200 or not body:
                with lock: errors.append("%s: %d" % (path, r.status))
            elif path.startswith("/api/"):
                json.loads(body)
            counts[n] += 1
        except Exception as e:
            with lock: errors.append("%s: %r" % (path, e))
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    conn.close()
started = time.time()
threads = [threading.Thread(target=rest, args=(n,)) for n in range(10)]
for t in threads: t.start()
for t in threads: t.join(120)
rest_seconds = time.time() - started
line = '{"bucket":"bkt","key":"load-key","size":5,"md5":"0123456789abcdef0123456789abcdef","etag":"0123456789abcdef0123456789abcdef","parts":1,"part_size":5,"skipped":false}'
subprocess.run([tool, "record", "--table", "flights", "--path-template", "p"], input=line.encode(), check=True, stdout=subprocess.DEVNULL)
def await_change(ws):
    try:
        while True:
            m = json.loads(ws.recv())
            if m["type"] == "delta" and "load-key" in json.dumps(m["data"]):
                return
    except Exception as e:
        with lock: errors.append("ws update: %r" % e)
threads = [threading.Thread(target=await_change, args=(ws,)) for ws in list(clients)]
for t in threads: t.start()
for t in threads: t.join(60)
for ws in clients: ws.close()
print(json.dumps({"websocket_clients": len(clients), "rest_requests": sum(counts), "rest_seconds": round(rest_seconds, 2), "errors": len(errors), "first_errors": errors[:5]}))
sys.exit(0 if not errors and len(clients) == 200 and sum(counts) == 1000 else 1)
"""#
