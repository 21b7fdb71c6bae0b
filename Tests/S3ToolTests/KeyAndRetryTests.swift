import Foundation
import Testing
import TestSupport

/// Keys that would escape their bucket, foreign keys with empty segments, and retries that
/// are never silent.
@Suite("keys and retries")
struct KeyAndRetryTests {
    @Test("s3put refuses keys with '.' or '..' segments (exit 2), for every store; nothing lands anywhere", arguments: Backend.available)
    func dotSegments(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let input = bucket.scratch.path("input")
        try Data("pwned\n".utf8).write(to: URL(fileURLWithPath: input))
        for key in ["x/../../other/pwned.txt", "../pwned.txt", "a/./b.txt", "a/.."] {
            let put = try bucket.put(["--key", key], input: input)
            #expect(put.status == 2, "\(key): \(put.err)")
            #expect(put.err.contains("refusing a key with a"), "\(put.err)")
            #expect(put.out.isEmpty)
        }
        let listed = try bucket.get(["--list", ""])
        #expect(listed.out.isEmpty, "\(listed.out)")
    }

    @Test("a foreign key with '//' and one with dots in names still lists and reads, sent exactly as signed", .enabled(if: Services.s3Enabled))
    func foreignKeys() throws {
        let bucket = try Bucket(.s3)
        let input = bucket.scratch.path("input")
        try Data("foreign\n".utf8).write(to: URL(fileURLWithPath: input))
        let script = """
            import boto3, sys
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
            for key in ["a//b.txt", "v1..2/x.y.txt"]:
                s3.put_object(Bucket=sys.argv[2], Key=key, Body=open(sys.argv[3], "rb").read())
            """
        let put = try run("python3", ["-c", script, bucket.endpoint, bucket.name, input], environment: bucket.environment)
        #expect(put.status == 0, "\(put.err)")
        let listed = try bucket.get(["--list", "a/"])
        #expect(listed.out.contains("\"key\":\"a//b.txt\""), "\(listed.out) \(listed.err)")
        for key in ["a//b.txt", "v1..2/x.y.txt"] {
            let got = try bucket.get(["--key", key])
            #expect(got.status == 0, "\(key): \(got.err)")
            #expect(got.out == "foreign\n")
        }
    }

    @Test("s3put and s3get report every retry on the progress descriptor: attempt, max_attempts, delay_seconds, reason",
          .enabled(if: Services.s3Enabled))
    func retryEvents() throws {
        let bucket = try Bucket(.s3)
        let log = bucket.scratch.path("proxy.log")
        let proxy = try HelperProcess([helper("faultproxy.py"), bucket.endpoint, "0.5", log, "500,503,drop-before"])
        let endpoint = "http://127.0.0.1:\(proxy.firstLine)"
        let input = try randomFile(bucket.scratch, "input", size: 12 * 1024 * 1024)
        let progress = bucket.scratch.path("progress")
        let put = try shell("'\(Package.tool("s3put"))' --endpoint \(endpoint) --bucket \(bucket.name) --key r --part-size 5MiB --progress-fd 3 < '\(input)' 3>'\(progress)'",
                            environment: bucket.environment)
        #expect(put.status == 0, "\(put.err)")
        let lines = try String(contentsOfFile: progress, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let retries = lines.filter { $0["event"] as? String == "retry" }
        let faults = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").filter { !$0.contains("\"fault\": null") }.count
        #expect(retries.count == faults && faults > 0, "\(retries.count) retry lines for \(faults) faults")
        for r in retries {
            #expect(r["stage"] as? String == "s3put")
            #expect((r["attempt"] as? NSNumber).map { $0.intValue >= 2 } == true)
            #expect(r["max_attempts"] is NSNumber && r["delay_seconds"] is NSNumber)
            #expect((r["reason"] as? String)?.contains("s3://\(bucket.name)/r") == true, "\(r)")
        }
        // The final line is still the last progress line, with done.
        #expect(lines.last?["done"] as? Bool == true)
        // Without a progress descriptor, the retries are warnings on stderr (a proxy failing its first request).
        let once = try HelperProcess([helper("faultproxy.py"), bucket.endpoint, "1", bucket.scratch.path("once.log"), "503", "1"])
        let got = try run(Package.tool("s3get"), ["--endpoint", "http://127.0.0.1:\(once.firstLine)", "--bucket", bucket.name, "--key", "r",
                                                   "-o", bucket.scratch.path("out")],
                          environment: bucket.environment)
        #expect(got.status == 0, "\(got.err)")
        #expect(got.err.contains("s3get: warning: retrying (attempt 2 of 8, in "), "\(got.err)")
        withExtendedLifetime(proxy) {}
        withExtendedLifetime(once) {}
    }
}
