import Foundation
import Testing
import TestSupport

/// The viewer (`archive-cache serve`) on a fixture's state folder, stopped when the value goes away.
final class FixtureViewer: @unchecked Sendable {
    let server: ViewerServer
    var url: String { server.url }

    init(_ f: ArchiveFixture) throws {
        server = try ViewerServer(environment: f.environment())
    }

    /// Runs a browser script (`chromiumScript`) with the usual arguments and `job` as JSON.
    func browse(_ body: String, _ f: ArchiveFixture, shot: String, job: [String: Any]) throws -> ProcessResult {
        let jobText = String(decoding: try JSONSerialization.data(withJSONObject: job), as: UTF8.self)
        return try run("python3", ["-c", body, url, f.home.url.path, Package.tool("archive-cache"), shot,
                                   String(server.process.processIdentifier), jobText])
    }
}

/// Where a test keeps its screenshots: `PGARCHIVE_SCREENSHOTS` (to look at them), else a temp dir.
func screenshotPath(_ name: String, in dir: TemporaryDirectory) -> String {
    if let keep = ProcessInfo.processInfo.environment["PGARCHIVE_SCREENSHOTS"] { return keep + "/" + name }
    return dir.path(name)
}

/// The viewer open while retire runs: the rows show the retirement without a reload.
let retireLiveScript = chromiumScript(#"""
    call("Page.enable")
    call("Page.navigate", url=url)
    rows = "Array.from(document.querySelectorAll('#entries tbody tr'))"
    wait_for(rows + ".length === 3 && document.getElementById('conn').textContent === 'live'", "three archived rows")
    assert js("document.getElementById('stat-retired').textContent") == "0"
    assert js(rows + ".every(r => r.querySelector('td.c-retired').textContent.trim() === '–')"), js(rows + ".map(r => r.querySelector('td.c-retired').textContent)")
    js("window.__sameDocument = 1")
    job = json.loads(sys.argv[6])
    env = dict(os.environ); env.update(job["env"])
    r = subprocess.run(job["argv"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(rows + ".filter(r => { const b = r.querySelector('td.c-retired .badge.retired'); return !b.hidden && b.textContent === 'drop'; }).length === 3", "three rows retired by drop")
    wait_for("document.getElementById('stat-retired').textContent === '3'", "the retired card")
    assert js("window.__sameDocument") == 1, "the page was reloaded"
    assert js("document.getElementById('conn').textContent") == "live"
    cell = "document.querySelector('#entries tbody td.c-retired')"
    title = js(cell + ".title")
    assert "150 rows removed from PostgreSQL, digest " in title and "(drop)" in title, title
    js(cell + ".click()")
    detail = js(cell + ".innerText")
    assert "150 rows · digest " in detail, detail
    open(shot, "wb").write(base64.b64decode(call("Page.captureScreenshot", format="png")["data"]))
    # Server-side search finds the retired rows by their mode.
    js("{ const s = document.getElementById('search'); s.value = 'retired drop'; s.dispatchEvent(new Event('input')); }")
    wait_for("document.getElementById('shown').textContent.startsWith('3')", "three rows found")
    cdp.close()
    print("ok")
"""#)

/// An archive on a pseudo-terminal (the live display) while Chromium watches the viewer: both
/// sampled every 0.1 s until the run ends. Prints `VIEWER:` and `TERMINAL:` with the stages seen.
let stageScript = chromiumScript(#"""
    import pty, select, re
    call("Page.enable")
    call("Page.navigate", url=url)
    wait_for("(document.getElementById('conn') || {}).textContent === 'live'", "a live connection")
    job = json.loads(sys.argv[6])
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(job["env"])
        os.execv(job["argv"][0], job["argv"])
    import fcntl, struct, termios
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 200, 0, 0))
    screen = b""
    viewer, terminal = [], []
    shot_taken = False
    start = time.time()
    next_sample = start
    worker = re.compile(r"worker +1 +flights-\S+ +([a-z]+(?: part \d+)?)")
    while True:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        if time.time() >= next_sample:
            next_sample += 0.1
            stage = js("(() => { const s = document.querySelector('#workers .worker .w-stage'); return s ? s.textContent : ''; })()")
            if stage:
                viewer.append(stage)
            if stage == "compressing" and not shot_taken and viewer.count("compressing") >= 3:
                open(shot, "wb").write(base64.b64decode(call("Page.captureScreenshot", format="png")["data"]))
                shot_taken = True
            frames = screen.decode("utf-8", "replace").split("\x1b[H")
            if len(frames) >= 2:
                m = worker.search(frames[-2])
                if m:
                    terminal.append(m.group(1))
        if time.time() - start > 300:
            os.kill(pid, 9)
            break
    _, status = os.waitpid(pid, 0)
    print("EXIT:" + str(os.waitstatus_to_exitcode(status)))
    wait_for("document.getElementById('run-state').textContent === 'idle'", "the idle state after the run")
    open(shot.replace(".png", "-after.png"), "wb").write(base64.b64decode(call("Page.captureScreenshot", format="png")["data"]))
    print("VIEWER:" + json.dumps(viewer))
    print("TERMINAL:" + json.dumps(terminal))
    cdp.close()
"""#)

@Suite("the viewer and the terminal display during real runs", .enabled(if: Services.postgresEnabled && Services.s3Enabled), .serialized)
struct ViewerRunTests {
    @Test("archive, open the viewer, retire: each row shows its retirement live (no reload), the card counts it")
    func retireShowsLive() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 150)
        let a = FileStoreArchive(fixture: f, store: try TemporaryDirectory())
        let archive = try a.run("archive")
        #expect(archive.status == 0, "\(archive.err)")
        let viewer = try FixtureViewer(f)
        let dir = try TemporaryDirectory()
        let r = try viewer.browse(retireLiveScript, f, shot: screenshotPath("viewer-retired.png", in: dir),
                                  job: ["argv": [Package.tool("data-archiver"), "retire"] + a.flags, "env": f.environment()])
        #expect(r.status == 0 && r.out.contains("ok"), "\(r.out)\(r.err)")
    }

    @Test("a slice whose compressor is the bottleneck reads compressing mid-run in the viewer and on the terminal, not extracting")
    func compressingShown() throws {
        // One worker, gzip -9 over ~115 MB of JSON lines: zcompress is the bottleneck while
        // pg-extract still runs, blocked writing into a full pipe (the case the old rule, which
        // read "extracting" until pg-extract ended, got wrong). zstd's multi-threaded mode would
        // not do: it takes in whole jobs (256 MiB at level 19), so pg-extract ends at once.
        let f = try ArchiveFixture(days: 1, rowsPerDay: 600_000)
        let viewer = try FixtureViewer(f)
        let dir = try TemporaryDirectory()
        let shot = screenshotPath("viewer-compressing.png", in: dir)
        let r = try viewer.browse(stageScript, f, shot: shot, job: [
            "argv": [Package.tool("data-archiver")] + f.flags() + ["--workers", "1", "--compression", "gzip", "--compression-level", "9"],
            "env": f.environment(),
        ])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("EXIT:0"), "\(r.out)\(r.err)")
        func seen(_ tag: String) throws -> [String] {
            let line = try #require(r.out.split(separator: "\n").first { $0.hasPrefix(tag) }, "\(r.out)")
            return try JSONSerialization.jsonObject(with: Data(line.dropFirst(tag.count).utf8)) as? [String] ?? []
        }
        for (display, stages) in [("viewer", try seen("VIEWER:")), ("terminal", try seen("TERMINAL:"))] {
            // Mostly compressing; "extracting" at most for the moment the pipes fill (a second),
            // and never once compression has shown (the old rule read "extracting" until
            // pg-extract ended). Samples come every 0.1 s: a fast machine compresses the slice in
            // about 1.5 s (15 samples), and 0.25 s gave too few samples there.
            let compressing = stages.filter { $0 == "compressing" }.count
            #expect(compressing >= 5 && compressing * 2 >= stages.count, "\(display): \(stages)")
            let first = stages.firstIndex(of: "compressing") ?? stages.count
            #expect(!stages[first...].contains("extracting"), "\(display): \(stages)")
            #expect(stages[..<first].filter { $0 == "extracting" }.count <= 10, "\(display): \(stages)")
        }
        #expect(FileManager.default.fileExists(atPath: shot))
    }
}
