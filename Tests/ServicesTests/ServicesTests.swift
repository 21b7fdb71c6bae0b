import Foundation
import Testing
import TestSupport

/// The test services answer: PostgreSQL through libpq, S3 over HTTP.
@Suite("test services")
struct ServicesTests {
    @Test("PostgreSQL answers a query over TCP with a password", .enabled(if: Services.postgresEnabled))
    func postgres() throws {
        let pg = try Services.requirePostgres()
        let answer = try pg.psql("SELECT 40 + 2, current_setting('server_version_num')::int / 10000")
        #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == "42|15")
    }

    @Test("the ordinary role is not a superuser", .enabled(if: Services.postgresEnabled))
    func ordinaryRole() throws {
        let pg = try Services.requirePostgres()
        let answer = try pg.psql("SELECT rolsuper FROM pg_roles WHERE rolname = '\(pg.ordinaryUser)'")
        #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == "f")
    }

    @Test("S3 stores and returns an object", .enabled(if: Services.s3Enabled))
    func s3() throws {
        let s3 = try Services.requireS3()
        let bucket = try s3.createBucket()
        let dir = try TemporaryDirectory()
        let file = dir.path("hello")
        try Data("hello, bucket\n".utf8).write(to: URL(fileURLWithPath: file))
        let sign = ["--aws-sigv4", "aws:amz:\(s3.region):s3", "--user", "\(s3.accessKey):\(s3.secretKey)"]
        let put = try run("curl", ["-fsS", "-T", file] + sign + ["\(s3.endpoint)/\(bucket)/greeting.txt"])
        #expect(put.status == 0, "\(put.err)")
        let get = try run("curl", ["-fsS"] + sign + ["\(s3.endpoint)/\(bucket)/greeting.txt"])
        #expect(get.out == "hello, bucket\n")
    }
}

@Suite("test harness")
struct HarnessTests {
    @Test("a child that stops reading its stdin early fails alone; the test process survives the broken pipe")
    func brokenStdin() throws {
        // head reads one block and exits; the rest of 4 MiB meets a closed pipe (EPIPE, SIGPIPE).
        let result = try run("head", ["-c", "1"], stdin: Data(repeating: 0x61, count: 4 << 20))
        #expect(result.status == 0)
        #expect(result.out == "a")
        let pipe = Pipe()
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        child.standardInput = pipe
        try child.run()
        child.waitUntilExit()
        #expect(!writeWithoutSIGPIPE(Data(repeating: 0, count: 1 << 20), to: pipe.fileHandleForWriting))
    }
}
