import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Nothing half-done: the commit gate, interruption, incomplete uploads, faults, authentication.
@Suite("s3put failures leave nothing behind")
struct FailureTests {
    static let MiB = 1 << 20

    func quoted(_ args: [String]) -> String { args.map { "'\($0)'" }.joined(separator: " ") }

    /// Starts a multipart upload of a stream that never ends, fed until the upload is visibly in progress.
    func startUpload(_ bucket: Bucket, key: String) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Package.tool("s3put"))
        process.arguments = bucket.location + ["--key", key, "--multipart-threshold", "5MiB", "--part-size", "5MiB"]
        process.environment = ProcessInfo.processInfo.environment.merging(bucket.environment) { $1 }
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let chunk = Data(repeating: 0x5a, count: Self.MiB)
        var fed = 0
        while try bucket.pendingUploads() == 0 && fed < 200 {
            for _ in 0..<4 { writeWithoutSIGPIPE(chunk, to: input.fileHandleForWriting) }
            fed += 4
        }
        return (process, input)
    }

    @Test("with --commit-fd, a closed descriptor without 'commit' stores nothing", arguments: Backend.available)
    func notCommitted(backend: Backend) throws {
        let bucket = try Bucket(backend)
        for size in [1000, 12 * Self.MiB] {
            let input = try randomFile(bucket.scratch, "input", size: size)
            let put = quoted([Package.tool("s3put")] + bucket.location + ["--key", "c\(size)", "--multipart-threshold", "5MiB", "--part-size", "5MiB", "--commit-fd", "3"])
            let refused = try shell("\(put) < '\(input)' 3</dev/null", environment: bucket.environment)
            #expect(refused.status == 4, "not committed is a consequence of an earlier stage's failure")
            #expect(refused.out.isEmpty)
            #expect(refused.err.contains("not committed"))
            let wrong = try shell("\(put) < '\(input)' 3< <(echo abort)", environment: bucket.environment)
            #expect(wrong.status == 4)
            #expect(try !bucket.exists("c\(size)"))
            #expect(try bucket.pendingUploads() == 0)
            let committed = try shell("\(put) < '\(input)' 3< <(echo commit)", environment: bucket.environment)
            #expect(committed.status == 0, "\(committed.err)")
            #expect(try bucket.exists("c\(size)"))
        }
    }

    @Test("an OpenSSL that refuses MD5 (FIPS properties) stops s3put with one line and exit 1, nothing stored")
    func digestRefused() throws {
        let bucket = try Bucket(.file)
        let conf = bucket.scratch.path("fips.cnf")
        try "openssl_conf = openssl_init\n[openssl_init]\nalg_section = evp\n[evp]\ndefault_properties = fips=yes\n"
            .write(toFile: conf, atomically: true, encoding: .utf8)
        let input = try randomFile(bucket.scratch, "input", size: 1000)
        let put = try bucket.put(["--key", "k"], input: input, environment: ["OPENSSL_CONF": conf])
        #expect(put.status == 1)
        #expect(put.err == "s3put: error: libcrypto refused md5 (an OpenSSL configuration without it, such as FIPS mode?)\n", "\(put.err)")
        #expect(try !bucket.exists("k"))
    }

    @Test("SIGTERM in the middle of a multipart upload leaves no object and no upload in progress", arguments: Backend.available)
    func sigterm(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let (process, input) = try startUpload(bucket, key: "t")
        #expect(try bucket.pendingUploads() == 1)
        process.terminate()
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
        #expect(process.terminationReason == .exit && process.terminationStatus == 130)
        #expect(try bucket.pendingUploads() == 0)
        #expect(try !bucket.exists("t"))
    }

    @Test("uploads left by kill -9 are listed by s3get --list-uploads and aborted by s3put --abort-incomplete", arguments: Backend.available)
    func incompleteUploads(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let (process, input) = try startUpload(bucket, key: "orphans/o")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
        #expect(try bucket.pendingUploads() == 1)

        let listed = try bucket.get(["--list-uploads", "orphans/"])
        #expect(listed.status == 0)
        let line = try JSONSerialization.jsonObject(with: Data(listed.out.utf8)) as! [String: Any]
        #expect(line["key"] as? String == "orphans/o")
        #expect((line["upload_id"] as? String)?.isEmpty == false)
        #expect(try bucket.get(["--list-uploads", "elsewhere/"]).out.isEmpty)

        if backend == .file {  // moto reports a fixed Initiated date of 2010, so only the file store can show this
            let young = try run(Package.tool("s3put"), bucket.location + ["--abort-incomplete", "orphans/", "--older-than", "1h"],
                                environment: bucket.environment)
            #expect(young.status == 0)
            #expect(young.out.isEmpty)
            #expect(try bucket.pendingUploads() == 1)
        }
        let aborted = try run(Package.tool("s3put"), bucket.location + ["--abort-incomplete", "orphans/"], environment: bucket.environment)
        #expect(aborted.status == 0)
        #expect(aborted.out.contains("\"aborted\":true"))
        #expect(try bucket.pendingUploads() == 0)
    }

    @Test("a slowly fed 300 MiB stream uploads parts before the input ends, in bounded memory", .enabled(if: Services.s3Enabled))
    func streaming() throws {
        let bucket = try Bucket(.s3)
        let log = bucket.scratch.path("proxy.log")
        let proxy = try HelperProcess([helper("faultproxy.py"), bucket.endpoint, "0", log])
        let input = try randomFile(bucket.scratch, "input", size: 300 * Self.MiB)
        let args = [helper("slowfeed.py"), input, String(Self.MiB), "0.004", "--", Package.tool("s3put"),
                    "--endpoint", "http://127.0.0.1:\(proxy.firstLine)", "--bucket", bucket.name, "--key", "slow",
                    "--part-size", "16MiB", "--concurrency", "4"]
        let fed = try run("python3", args, environment: bucket.environment)
        let report = try JSONSerialization.jsonObject(with: fed.stdout) as! [String: Any]
        #expect(report["status"] as? Int == 0, "\(report["stderr"] ?? "")")
        let inputEnd = report["input_end"] as! Double
        let requests = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let partTimes = requests.filter { ($0["path"] as! String).contains("partNumber=") }.map { $0["time"] as! Double }
        #expect(partTimes.count == 19)
        #expect(partTimes.filter { $0 < inputEnd }.count >= 10, "UploadPart requests should leave while the input still arrives")
        // 16 MiB × (4 + 1) of part buffers plus the runtime, libcurl and its buffers.
        let rssMiB = (report["maxrss_kb"] as! Int) / 1024
        #expect(rssMiB <= 16 * 5 + 40, "peak RSS \(rssMiB) MiB")
        let copy = bucket.scratch.path("copy")
        let fetched = try bucket.independentFetch(key: "slow", to: copy, partSize: 16 * Self.MiB)
        #expect(try sameBytes(input, copy))
        #expect(fetched.etag == (try referenceETag(file: input, partSize: 16 * Self.MiB)))
        bucket.delete("slow")
        withExtendedLifetime(proxy) {}
    }

    @Test("through a proxy failing 10 % of requests, a 300 MiB upload and its download complete and verify", .enabled(if: Services.s3Enabled))
    func faults() throws {
        let bucket = try Bucket(.s3)
        let log = bucket.scratch.path("proxy.log")
        let proxy = try HelperProcess([helper("faultproxy.py"), bucket.endpoint, "0.1", log])
        let endpoint = "http://127.0.0.1:\(proxy.firstLine)"
        let input = try randomFile(bucket.scratch, "input", size: 300 * Self.MiB)
        let put = try shell("cat '\(input)' | '\(Package.tool("s3put"))' --endpoint \(endpoint) --bucket \(bucket.name) --key faulty --part-size 16MiB",
                            environment: bucket.environment)
        let line = try resultLine(put)
        let expected = try referenceETag(file: input, partSize: 16 * Self.MiB)
        #expect(line["etag"] as? String == expected)
        let copy = bucket.scratch.path("copy")
        let fetched = try bucket.independentFetch(key: "faulty", to: copy, partSize: 16 * Self.MiB)
        #expect(fetched.etag == expected)
        #expect(try sameBytes(input, copy))
        let ours = bucket.scratch.path("ours")
        for _ in 0..<3 {
            let got = try run(Package.tool("s3get"), ["--endpoint", endpoint, "--bucket", bucket.name, "--key", "faulty", "-o", ours],
                              environment: bucket.environment)
            #expect(got.status == 0, "\(got.err)")
            #expect(try sameBytes(input, ours))
        }
        let logged = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let faulted = logged.filter { $0["fault"] is String }.count
        #expect(faulted > 0, "\(logged.count) requests, none failed: the proxy injected nothing")
        #expect(try bucket.pendingUploads() == 0)
        bucket.delete("faulty")
        withExtendedLifetime(proxy) {}
    }

    @Test("a download cut off mid-body resumes with a Range request and writes every byte once", .enabled(if: Services.s3Enabled))
    func resumedDownload() throws {
        let bucket = try Bucket(.s3)
        let input = try randomFile(bucket.scratch, "input", size: 20 * Self.MiB + 5)
        _ = try resultLine(try bucket.put(["--key", "r"], input: input))
        let log = bucket.scratch.path("proxy.log")
        let proxy = try HelperProcess([helper("faultproxy.py"), bucket.endpoint, "1", log, "truncate", "3"])
        let out = bucket.scratch.path("out")
        let got = try run(Package.tool("s3get"), ["--endpoint", "http://127.0.0.1:\(proxy.firstLine)", "--bucket", bucket.name,
                                                   "--key", "r"],
                          stdoutFile: out, environment: bucket.environment)
        #expect(got.status == 0, "\(got.err)")
        #expect(try sameBytes(input, out))
        let requests = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let cut = requests.filter { $0["fault"] as? String == "truncate" }
        let ranged = requests.filter { ($0["range"] as? String)?.hasPrefix("bytes=") == true }
        #expect(cut.count == 3)
        #expect(ranged.count == 3, "each cut-off transfer resumed with a Range request")
        withExtendedLifetime(proxy) {}
    }

    @Test("against a server that checks signatures, a wrong secret fails fast with SignatureDoesNotMatch and the right one works",
          .enabled(if: Services.s3Enabled))
    func authentication() throws {
        let server = try HelperProcess([helper("authserver.py")])
        let info = try JSONSerialization.jsonObject(with: Data(server.firstLine.utf8)) as! [String: String]
        let location = ["--endpoint", info["endpoint"]!, "--bucket", info["bucket"]!]
        let scratch = try TemporaryDirectory()
        let input = try randomFile(scratch, "input", size: 12 * Self.MiB)
        let multipart = ["--multipart-threshold", "5MiB", "--part-size", "5MiB"]
        let right = ["AWS_ACCESS_KEY_ID": info["access_key"]!, "AWS_SECRET_ACCESS_KEY": info["secret_key"]!]
        var wrong = right
        wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"

        let denied = try run(Package.tool("s3put"), location + ["--key", "dir/a.bin"] + multipart, stdinFile: input, environment: wrong)
        #expect(denied.status == 6, "authentication refused has its own exit status")
        #expect(denied.err.contains("SignatureDoesNotMatch"), "\(denied.err)")
        #expect(!denied.err.contains("after"), "an authentication failure is not retried: \(denied.err)")
        #expect(denied.out.isEmpty)
        let head = try run(Package.tool("s3get"), location + ["--head", "--key", "dir/a.bin"], environment: wrong)
        #expect(head.status == 6, "a 403 is an authentication error, never 'not found'")
        var unknown = right
        unknown["AWS_ACCESS_KEY_ID"] = "AKIAUNKNOWNKEY000000"
        let started = Date()
        let invalid = try run(Package.tool("s3get"), location + ["--head", "--key", "dir/a.bin", "--progress-fd", "2"], environment: unknown)
        #expect(invalid.status == 6)
        #expect(invalid.err.contains("InvalidAccessKeyId") || invalid.err.contains("AccessDenied (HTTP 403)"), "\(invalid.err)")
        #expect(!invalid.err.contains("\"event\":\"retry\""), "an authentication failure is not retried: \(invalid.err)")
        #expect(Date().timeIntervalSince(started) < 2)

        for (key, args) in [("dir/a.bin", multipart), ("dir/small-b.bin", [])] {
            let ok = try run(Package.tool("s3put"), location + ["--key", key] + args, stdinFile: input, environment: right)
            #expect(ok.status == 0, "\(ok.err)")
            let out = scratch.path("out-\(key.replacingOccurrences(of: "/", with: "_"))")
            let got = try run(Package.tool("s3get"), location + ["--key", key, "-o", out], environment: right)
            #expect(got.status == 0, "\(got.err)")
            #expect(try sameBytes(input, out))
        }
        // A prefix without "/": moto's signature check mishandles an encoded %2F in the query.
        let listed = try run(Package.tool("s3get"), location + ["--list", "dir"], environment: right)
        #expect(listed.out.split(separator: "\n").count == 2, "\(listed.err)")
        // ARCHIVE_S3_* wins over AWS_*.
        let archive = wrong.merging(["ARCHIVE_S3_ACCESS_KEY": info["access_key"]!, "ARCHIVE_S3_SECRET_KEY": info["secret_key"]!]) { $1 }
        let preferred = try run(Package.tool("s3get"), location + ["--head", "--key", "dir/a.bin"], environment: archive)
        #expect(preferred.status == 0, "\(preferred.err)")
        let missing = try run(Package.tool("s3get"), location + ["--head", "--key", "dir/none"], environment: right)
        #expect(missing.status == 3)
        withExtendedLifetime(server) {}
    }
}
