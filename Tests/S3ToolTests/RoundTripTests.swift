import Foundation
import Testing
import TestSupport

/// s3put and s3get against moto and the file:// store, judged by boto3, md5sum and cmp.
@Suite("s3put and s3get round trips")
struct RoundTripTests {
    static let MiB = 1 << 20
    static let sizes = [0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 100 * MiB + 1]
    static let cases: [(Backend, Int)] = Backend.available.flatMap { b in sizes.map { (b, $0) } }

    /// Uploads `input`, checks the result line, and fetches it back with boto3 and with s3get.
    func roundTrip(_ bucket: Bucket, input: String, key: String, size: Int, arguments: [String] = [], pipe: Bool = false,
                   expectedPartSize: Int) throws {
        let result: ProcessResult
        if pipe {
            result = try shell("cat '\(input)' | '\(Package.tool("s3put"))' \(bucket.location.map { "'\($0)'" }.joined(separator: " ")) --key '\(key)' \(arguments.joined(separator: " "))",
                               environment: bucket.environment)
        } else {
            result = try bucket.put(["--key", key] + arguments, input: input)
        }
        let line = try resultLine(result)
        let expectedETag = try referenceETag(file: input, partSize: expectedPartSize)
        #expect(line["bucket"] as? String == bucket.name)
        #expect(line["key"] as? String == key)
        #expect(line["size"] as? Int == size)
        #expect(line["md5"] as? String == (try md5sum(input)))
        #expect(line["etag"] as? String == expectedETag)
        #expect(line["part_size"] as? Int == expectedPartSize)
        #expect(line["parts"] as? Int == (expectedPartSize == 0 ? 0 : max(1, (size + expectedPartSize - 1) / expectedPartSize)))
        #expect(line["skipped"] as? Bool == false)
        #expect(line["sha256"] == nil)

        let copy = bucket.scratch.path("independent-\(UUID().uuidString)")
        let fetched = try bucket.independentFetch(key: key, to: copy, partSize: expectedPartSize)
        #expect(fetched.etag == expectedETag)
        #expect(try sameBytes(input, copy))

        let ours = bucket.scratch.path("s3get-\(UUID().uuidString)")
        let got = try bucket.get(["--key", key], stdoutFile: ours)
        #expect(got.status == 0, "s3get: \(got.err)")
        #expect(try sameBytes(input, ours))
        try? FileManager.default.removeItem(atPath: copy)
        try? FileManager.default.removeItem(atPath: ours)
    }

    @Test("sizes around the part and threshold limits arrive intact with the ETag S3 reports", arguments: cases)
    func sizes(backend: Backend, size: Int) throws {
        let bucket = try Bucket(backend)
        let input = try randomFile(bucket.scratch, "input", size: size)
        let threshold = 100 * Self.MiB
        try roundTrip(bucket, input: input, key: "sizes/\(size).bin", size: size,
                      expectedPartSize: size > threshold ? 16 * Self.MiB : 0)
        bucket.delete("sizes/\(size).bin")
    }

    @Test("a 300 MiB stream from a pipe goes up in 16 MiB parts", arguments: Backend.available)
    func large(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let size = 300 * Self.MiB
        let input = try randomFile(bucket.scratch, "input", size: size)
        try roundTrip(bucket, input: input, key: "large/300.bin", size: size, arguments: ["--part-size", "16MiB"], pipe: true,
                      expectedPartSize: 16 * Self.MiB)
        bucket.delete("large/300.bin")
    }

    /// (size, expected part size) for --part-size 5MiB with a threshold of 10 MiB (two parts).
    static let inMemorySizes: [(Int, Int)] = [(5 * MiB, 0), (7 * MiB, 0), (10 * MiB, 0), (10 * MiB + 1, 5 * MiB), (23 * MiB, 5 * MiB)]
    static let inMemory: [(Backend, Int, Int)] = Backend.available.flatMap { (b: Backend) -> [(Backend, Int, Int)] in
        inMemorySizes.map { (b, $0.0, $0.1) }
    }

    @Test("with a threshold within two parts a piped stream never touches a spool file: one PUT up to the threshold, parts above",
          arguments: inMemory)
    func withinTwoParts(backend: Backend, size: Int, expectedPartSize: Int) throws {
        let bucket = try Bucket(backend)
        let input = try randomFile(bucket.scratch, "input", size: size)
        // A TMPDIR that cannot hold a spool file: any attempt to spool fails the upload.
        var environment = bucket.environment
        environment["TMPDIR"] = bucket.scratch.path("no-such-directory")
        let put = try shell("cat '\(input)' | '\(Package.tool("s3put"))' \(bucket.location.map { "'\($0)'" }.joined(separator: " ")) "
                            + "--key mem.bin --part-size 5MiB --multipart-threshold 10MiB", environment: environment)
        let line = try resultLine(put)
        #expect(line["part_size"] as? Int == expectedPartSize)
        #expect(line["etag"] as? String == (try referenceETag(file: input, partSize: expectedPartSize)))
        let copy = bucket.scratch.path("copy")
        let fetched = try bucket.independentFetch(key: "mem.bin", to: copy, partSize: expectedPartSize)
        #expect(fetched.etag == line["etag"] as? String)
        #expect(try sameBytes(input, copy))
        bucket.delete("mem.bin")
    }

    @Test("--size-hint grows a piped stream's parts so that the hinted size fits in 10,000 parts", arguments: Backend.available)
    func sizeHint(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let input = try randomFile(bucket.scratch, "input", size: 23 * Self.MiB)
        // 100 GiB / 10,000 = 10.24 MiB, rounded up to whole MiB: 11 MiB parts (11 + 11 + 1).
        let put = try shell("cat '\(input)' | '\(Package.tool("s3put"))' \(bucket.location.map { "'\($0)'" }.joined(separator: " ")) "
                            + "--key hinted.bin --part-size 5MiB --multipart-threshold 10MiB --size-hint 100GiB",
                            environment: bucket.environment)
        let line = try resultLine(put)
        #expect(line["part_size"] as? Int == 11 * Self.MiB)
        #expect(line["parts"] as? Int == 3)
        #expect(line["etag"] as? String == (try referenceETag(file: input, partSize: 11 * Self.MiB)))
        let copy = bucket.scratch.path("copy")
        let fetched = try bucket.independentFetch(key: "hinted.bin", to: copy, partSize: 11 * Self.MiB)
        #expect(fetched.etag == line["etag"] as? String)
        #expect(try sameBytes(input, copy))
        bucket.delete("hinted.bin")
    }

    static let specialKeys = ["a b/c d.txt", "ünïcödé/ключ/日本.bin", "plus+equals=percent%25%.zst",
                              "semi;colon,comma&amp'quote!(paren)*star~tilde", "deep/a/b/c/d/e/f/g.jsonl"]

    @Test("keys with spaces, unicode, +, = and % are stored under exactly that name", arguments: Backend.available)
    func specialKeys(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let input = try randomFile(bucket.scratch, "input", size: 1000)
        for key in Self.specialKeys {
            let line = try resultLine(try bucket.put(["--key", key], input: input))
            #expect(line["key"] as? String == key)
            let copy = bucket.scratch.path("copy")
            try? FileManager.default.removeItem(atPath: copy)
            _ = try bucket.independentFetch(key: key, to: copy, partSize: 0)
            #expect(try sameBytes(input, copy))
        }
        let listing = try bucket.get(["--list", ""])
        #expect(listing.status == 0)
        let keys = try listing.out.split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["key"] as! String
        }
        #expect(keys == Self.specialKeys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    @Test("a file:// store whose folder is missing or a file is refused in one line naming it; nothing is created")
    func missingFileStore() throws {
        let dir = try TemporaryDirectory()
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.path("plain")))
        for (root, reason) in [(dir.path("absent"), "No such file or directory (create the folder first: the buckets go inside it)"),
                               (dir.path("plain"), "not a directory")] {
            let out = try run(Package.tool("s3put"), ["--endpoint", "file://" + root, "--bucket", "b", "--key", "k"], stdin: Data("data".utf8),
                              environment: ["AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"])
            #expect(out.status == 1)
            #expect(out.err == "s3put: error: file store \"\(root)\": \(reason)\n", "\(out.err)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path("absent")))
    }

    @Test("user metadata travels with the object and --head shows it", arguments: Backend.available)
    func metadata(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let input = try randomFile(bucket.scratch, "input", size: 100)
        _ = try resultLine(try bucket.put(["--key", "m/x", "--metadata", "pgarchive-schema=abc123", "--metadata", "Other=v w",
                                           "--content-type", "application/zstd"], input: input))
        let fetched = try bucket.independentFetch(key: "m/x", to: bucket.scratch.path("copy"), partSize: 0)
        #expect(fetched.metadata == ["pgarchive-schema": "abc123", "other": "v w"])
        let head = try resultLine(try bucket.get(["--head", "--key", "m/x"]))
        #expect(head["metadata"] as? [String: String] == ["pgarchive-schema": "abc123", "other": "v w"])
        #expect(head["content_type"] as? String == "application/zstd")
        #expect(head["size"] as? Int == 100)
        #expect(head["etag"] as? String == (try md5sum(input)))
    }

    @Test("--head of a missing key exits 3 with 'not found' and prints nothing", arguments: Backend.available)
    func headMissing(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let result = try bucket.get(["--head", "--key", "no/such/key"])
        #expect(result.status == 3)
        #expect(result.out.isEmpty)
        #expect(result.err.contains("not found"))
        let download = try bucket.get(["--key", "no/such/key"], stdoutFile: bucket.scratch.path("out"))
        #expect(download.status == 3)
    }

    @Test("--sha256 adds the object's SHA-256 to the result line", arguments: Backend.available)
    func sha256(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let input = try randomFile(bucket.scratch, "input", size: 12 * Self.MiB + 3)
        let line = try resultLine(try bucket.put(["--key", "h", "--sha256", "--multipart-threshold", "5MiB", "--part-size", "5MiB"], input: input))
        let expected = String(try run("sha256sum", [input]).out.prefix(64))
        #expect(line["sha256"] as? String == expected)
        #expect(line["parts"] as? Int == 3)
    }

    @Test("--dry-run computes the same line an upload would and stores nothing", arguments: Backend.available)
    func dryRun(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let input = try randomFile(bucket.scratch, "input", size: 11 * Self.MiB)
        let args = ["--key", "d", "--multipart-threshold", "5MiB", "--part-size", "5MiB"]
        let dry = try resultLine(try bucket.put(args + ["--dry-run"], input: input))
        #expect(try !bucket.exists("d"))
        let real = try resultLine(try bucket.put(args, input: input))
        #expect(dry["etag"] as? String == real["etag"] as? String)
        #expect(dry["md5"] as? String == real["md5"] as? String)
        #expect(dry["parts"] as? Int == 3)
    }

    @Test("--if-different skips an identical stream and uploads a changed one", arguments: Backend.available)
    func ifDifferent(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let input = try randomFile(bucket.scratch, "input", size: 11 * Self.MiB)
        // Uploaded with 5 MiB parts; the later runs ask for 8 MiB but must compare with 5.
        let first = try resultLine(try bucket.put(["--key", "k", "--multipart-threshold", "5MiB", "--part-size", "5MiB"], input: input))
        let args = ["--key", "k", "--multipart-threshold", "5MiB", "--part-size", "8MiB", "--if-different"]
        let again = try resultLine(try bucket.put(args, input: input))
        #expect(again["skipped"] as? Bool == true)
        #expect(again["etag"] as? String == first["etag"] as? String)
        #expect(again["part_size"] as? Int == 5 * Self.MiB)
        let changed = try randomFile(bucket.scratch, "changed", size: 11 * Self.MiB)
        let third = try resultLine(try bucket.put(args, input: changed))
        #expect(third["skipped"] as? Bool == false)
        let copy = bucket.scratch.path("copy")
        _ = try bucket.independentFetch(key: "k", to: copy, partSize: 5 * Self.MiB)
        #expect(try sameBytes(changed, copy))
        // A small single-PUT object compares by MD5.
        let small = try randomFile(bucket.scratch, "small", size: 1000)
        _ = try resultLine(try bucket.put(["--key", "s"], input: small))
        #expect(try resultLine(try bucket.put(["--key", "s", "--if-different"], input: small))["skipped"] as? Bool == true)
    }

    @Test("--compare reads a piped stream to its end in the object's own part size, and uploads and keeps nothing",
          arguments: Backend.available)
    func compare(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let input = try randomFile(bucket.scratch, "input", size: 11 * Self.MiB)
        let first = try resultLine(try bucket.put(["--key", "k", "--multipart-threshold", "5MiB", "--part-size", "5MiB"], input: input))
        // A TMPDIR that cannot hold a file: comparing must not park the stream anywhere.
        var environment = bucket.environment
        environment["TMPDIR"] = bucket.scratch.path("no-such-directory")
        func compare(_ file: String, key: String) throws -> [String: Any] {
            try resultLine(try shell("cat '\(file)' | '\(Package.tool("s3put"))' \(bucket.location.map { "'\($0)'" }.joined(separator: " ")) "
                                     + "--key \(key) --part-size 8MiB --compare", environment: environment))
        }
        let same = try compare(input, key: "k")
        #expect(same["skipped"] as? Bool == true && same["compared"] as? Bool == true)
        #expect(same["etag"] as? String == first["etag"] as? String)
        #expect(same["part_size"] as? Int == 5 * Self.MiB)
        let changed = try randomFile(bucket.scratch, "changed", size: 11 * Self.MiB)
        let differs = try compare(changed, key: "k")
        #expect(differs["skipped"] as? Bool == false && differs["compared"] as? Bool == true)
        let prefix = bucket.scratch.path("prefix")
        _ = try shell("head -c \(6 * Self.MiB) '\(input)' > '\(prefix)'")
        #expect(try compare(prefix, key: "k")["skipped"] as? Bool == false)
        // Nothing was uploaded: the object still holds the first stream.
        let copy = bucket.scratch.path("copy")
        _ = try bucket.independentFetch(key: "k", to: copy, partSize: 5 * Self.MiB)
        #expect(try sameBytes(input, copy))
        // An absent object differs, and stays absent.
        #expect(try compare(input, key: "absent")["skipped"] as? Bool == false)
        #expect(try bucket.get(["--list", "absent"]).out.isEmpty)
        // A single-PUT object compares by MD5.
        let small = try randomFile(bucket.scratch, "small", size: 1000)
        _ = try resultLine(try bucket.put(["--key", "s"], input: small))
        #expect(try compare(small, key: "s")["skipped"] as? Bool == true)
        let refused = try bucket.put(["--key", "s", "--compare", "--dry-run"], input: small)
        #expect(refused.status == 2 && refused.err.contains("--compare excludes"), "\(refused.err)")
    }

    @Test("a listing of 2,500 keys follows pagination and is in key order", .enabled(if: Services.s3Enabled))
    func listing() throws {
        let bucket = try Bucket(.s3)
        let made = try run("python3", [helper("s3helper.py"), "put-many", bucket.endpoint, bucket.name, "many/k", "2500"],
                           environment: bucket.environment)
        #expect(made.status == 0, "\(made.err)")
        let result = try bucket.get(["--list", "many/"])
        #expect(result.status == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n")
        #expect(lines.count == 2500)
        let keys = lines.map { (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["key"] as! String }
        #expect(keys == (0..<2500).map { String(format: "many/k%05d", $0) })
        let first = try JSONSerialization.jsonObject(with: Data(lines[3].utf8)) as! [String: Any]
        #expect(first["size"] as? Int == 3)
        #expect(first["etag"] as? String == "f561aaf6ef0bf14d4208bb46a4ccb3ad")  // md5("xxx")
    }

    @Test("the file store lists files put there by hand, by prefix, with their MD5 as ETag, hiding its own files")
    func fileListing() throws {
        let bucket = try Bucket(.file)
        let root = bucket.scratch.path("store") + "/bucket"
        for dir in ["p/a", "p/b", "q"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
        }
        for (name, text) in [("p/a/1", "one"), ("p/a/2", "two"), ("p/b/3", "three"), ("q/4", "four"), ("p0", "x")] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: "\(root)/\(name)"))
        }
        let input = try randomFile(bucket.scratch, "input", size: 6 * (1 << 20))
        _ = try resultLine(try bucket.put(["--key", "p/c", "--multipart-threshold", "5MiB", "--part-size", "5MiB"], input: input))
        let result = try bucket.get(["--list", "p"])
        let keys = result.out.split(separator: "\n").map {
            (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["key"] as! String
        }
        #expect(keys == ["p/a/1", "p/a/2", "p/b/3", "p/c", "p0"])
        #expect(result.out.contains("\"etag\":\"b8a9f715dbb64fd5c56e7783c6820a61\""))  // md5("two")
        #expect(try bucket.get(["--list", "p/a/"]).out.split(separator: "\n").count == 2)
    }
}
