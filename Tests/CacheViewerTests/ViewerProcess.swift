import Foundation
import Testing
import TestSupport

/// `archive-cache serve --port 0` on a scratch state folder, stopped when the value goes away.
final class ViewerProcess: @unchecked Sendable {
    let dir: TemporaryDirectory
    let server: ViewerServer
    var process: Process { server.process }
    /// `http://127.0.0.1:PORT/`.
    var url: String { server.url }
    var home: String { homePath }
    private let homePath: String
    var environment: [String: String] { ["ARCHIVE_HOME": home] }
    let scope = ["--table", "flights", "--bucket", "bkt", "--path-template", "archives/{table}/{YYYY}"]

    /// `home`: an existing state folder to serve (default: a fresh one in `dir`).
    init(arguments: [String] = [], home existing: String? = nil) throws {
        dir = try TemporaryDirectory()
        homePath = existing ?? dir.path("home")
        server = try ViewerServer(environment: ["ARCHIVE_HOME": homePath], arguments: arguments)
    }

    /// Runs an archive-cache subcommand against the same state folder.
    @discardableResult
    func cli(_ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
        let r = try run(Package.tool("archive-cache"), arguments, stdin: stdin.map { Data($0.utf8) }, environment: environment)
        guard r.status == 0 else { throw TestFailure("archive-cache \(arguments.first ?? ""): \(r.err)") }
        return r
    }

    /// GET with curl (an independent client): status code, headers and body.
    func get(_ path: String, headers: [String] = [], method: String = "GET") throws -> (status: Int, headers: String, body: Data) {
        let scratch = try TemporaryDirectory()
        var args = ["-s", "-X", method, "-D", scratch.path("h"), "-o", scratch.path("b"), "--max-time", "10"]
        for h in headers { args += ["-H", h] }
        let r = try run("curl", args + [url.dropLast() + path])
        guard r.status == 0 else { throw TestFailure("curl \(path): exit \(r.status) \(r.err)") }
        let head = try String(contentsOfFile: scratch.path("h"), encoding: .utf8)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = (try? Data(contentsOf: URL(fileURLWithPath: scratch.path("b")))) ?? Data()
        return (status, head, body)
    }

    /// GET and parse a JSON object.
    func json(_ path: String) throws -> [String: Any] {
        let r = try get(path)
        guard r.status == 200, let object = try JSONSerialization.jsonObject(with: r.body) as? [String: Any] else {
            throw TestFailure("\(path): status \(r.status)")
        }
        return object
    }

    /// Runs a Python script with the viewer's URL and state folder as arguments 1 and 2.
    func python(_ script: String, _ extra: [String] = []) throws -> ProcessResult {
        try run("python3", ["-c", script, url, home, Package.tool("archive-cache")] + extra, environment: environment)
    }
}

/// One s3put result line, in the shape man/s3put.1 pins.
func resultLine(key: String, size: Int = 1000, skipped: Bool = false) -> String {
    "{\"bucket\":\"bkt\",\"key\":\"\(key)\",\"size\":\(size),\"md5\":\"0123456789abcdef0123456789abcdef\",\"etag\":\"0123456789abcdef0123456789abcdef\",\"parts\":1,\"part_size\":8388608,\"skipped\":\(skipped)}"
}
