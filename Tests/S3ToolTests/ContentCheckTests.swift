import Foundation
import Testing
import TestSupport

/// s3get checks every object's content: single-part by MD5, multipart by the ETag recomputed in
/// the part size s3put records in the object's metadata.
@Suite("s3get content checks")
struct ContentCheckTests {
    static let MiB = 1 << 20

    /// Flips one bit of a stored file in place (same inode and size: the file store keeps its metadata).
    func flipBit(_ path: String, at offset: UInt64) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: offset)
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([byte ^ 0x10]))
        try handle.close()
    }

    @Test("a multipart upload records its part size at the start; s3get verifies the recomputed ETag", arguments: Backend.available)
    func partSizeRecorded(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let input = try randomFile(bucket.scratch, "input", size: 12 * Self.MiB + 7)
        let line = try resultLine(try bucket.put(["--key", "c/multi.bin", "--part-size", "5MiB", "--multipart-threshold", "5MiB",
                                                  "--metadata", "pgarchive-schema=abc"], input: input))
        #expect(line["parts"] as? Int == 3)
        let head = try resultLine(try bucket.get(["--head", "--key", "c/multi.bin"]))
        #expect(head["metadata"] as? [String: String] == ["pgarchive-part-size": "\(5 * Self.MiB)", "pgarchive-schema": "abc"])
        let out = bucket.scratch.path("out")
        let got = try bucket.get(["--key", "c/multi.bin"], stdoutFile: out)
        #expect(got.status == 0, "\(got.err)")
        #expect(!got.err.contains("warning"), "\(got.err)")
        #expect(try sameBytes(input, out))
    }

    @Test("one flipped bit inside a stored multipart object: s3get exits 1 naming the key")
    func flippedBitMultipart() throws {
        let bucket = try Bucket(.file)
        let input = try randomFile(bucket.scratch, "input", size: 11 * Self.MiB)
        _ = try resultLine(try bucket.put(["--key", "c/flip.bin", "--part-size", "5MiB", "--multipart-threshold", "5MiB"], input: input))
        try flipBit(bucket.scratch.path("store") + "/bucket/c/flip.bin", at: UInt64(7 * Self.MiB + 3))
        let got = try bucket.get(["--key", "c/flip.bin"], stdoutFile: bucket.scratch.path("out"))
        #expect(got.status == 1)
        #expect(got.err.contains("c/flip.bin: the content does not match the ETag"), "\(got.err)")
        #expect(got.err.contains("recomputed in \(5 * Self.MiB)-byte parts"), "\(got.err)")
    }

    @Test("one flipped bit inside a stored single-part object: s3get exits 1 naming the key")
    func flippedBitSingle() throws {
        let bucket = try Bucket(.file)
        let input = try randomFile(bucket.scratch, "input", size: 1000)
        _ = try resultLine(try bucket.put(["--key", "c/one.bin"], input: input))
        try flipBit(bucket.scratch.path("store") + "/bucket/c/one.bin", at: 500)
        let got = try bucket.get(["--key", "c/one.bin"], stdoutFile: bucket.scratch.path("out"))
        #expect(got.status == 1)
        #expect(got.err.contains("c/one.bin: the content's MD5"), "\(got.err)")
    }

    @Test("a multipart object without the part-size metadata (an older one) downloads with a warning naming it")
    func olderObjectWarns() throws {
        let bucket = try Bucket(.file)
        let input = try randomFile(bucket.scratch, "input", size: 11 * Self.MiB)
        _ = try resultLine(try bucket.put(["--key", "c/old.bin", "--part-size", "5MiB", "--multipart-threshold", "5MiB"], input: input))
        // Remove the metadata entry as an older s3put would have left it (the rest of the meta file unchanged).
        let meta = bucket.scratch.path("store") + "/.meta/bucket/c/old.bin.json"
        let edit = try run("python3", ["-c", """
            import json, sys
            m = json.load(open(sys.argv[1])); del m["metadata"]["pgarchive-part-size"]
            open(sys.argv[1], "w").write(json.dumps(m))
            """, meta])
        #expect(edit.status == 0, "\(edit.err)")
        let out = bucket.scratch.path("out")
        let got = try bucket.get(["--key", "c/old.bin"], stdoutFile: out)
        #expect(got.status == 0, "\(got.err)")
        #expect(got.err.contains("s3get: warning: file://"), "\(got.err)")
        #expect(got.err.contains("c/old.bin: content not checked against the ETag"), "\(got.err)")
        #expect(try sameBytes(input, out))
    }

    @Test("--verify reads without writing and prints one JSON line: ok, mismatch (exit 1) or unchecked")
    func verify() throws {
        let bucket = try Bucket(.file)
        let input = try randomFile(bucket.scratch, "input", size: 11 * Self.MiB)
        _ = try resultLine(try bucket.put(["--key", "v/a.bin", "--part-size", "5MiB", "--multipart-threshold", "5MiB"], input: input))
        let ok = try resultLine(try bucket.get(["--verify", "--key", "v/a.bin"]))
        #expect(ok["content"] as? String == "ok")
        #expect(ok["check"] as? String == "multipart")
        #expect(ok["part_size"] as? Int == 5 * Self.MiB)
        #expect(ok["parts"] as? Int == 3)
        #expect(ok["size"] as? Int == 11 * Self.MiB)

        try flipBit(bucket.scratch.path("store") + "/bucket/v/a.bin", at: 100)
        let bad = try bucket.get(["--verify", "--key", "v/a.bin"])
        #expect(bad.status == 1)
        let line = try JSONSerialization.jsonObject(with: Data(bad.out.utf8)) as? [String: Any]
        #expect(line?["content"] as? String == "mismatch")
        #expect((line?["error"] as? String)?.contains("does not match the ETag") == true)
        #expect(bad.err.contains("s3get: error: "), "\(bad.err)")

        let missing = try bucket.get(["--verify", "--key", "v/none.bin"])
        #expect(missing.status == 3)
        let usage = try bucket.get(["--verify"])
        #expect(usage.status == 2)
    }
}

@Suite("s3get --keys-from")
struct KeysFromTests {
    @Test("many small objects over one connection: one JSON line per key in order, a missing one said so, a damaged one exits 1",
          arguments: Backend.available)
    func keysFrom(backend: Backend) throws {
        let bucket = try Bucket(backend)
        let a = bucket.scratch.path("a.json"), b = bucket.scratch.path("b.json")
        try Data("{\"rows\":1}\n".utf8).write(to: URL(fileURLWithPath: a))
        try Data("ünïcödé \"quoted\"\n".utf8).write(to: URL(fileURLWithPath: b))
        _ = try resultLine(try bucket.put(["--key", "m/a.json"], input: a))
        _ = try resultLine(try bucket.put(["--key", "m/b.json"], input: b))
        let keys = bucket.scratch.path("keys")
        try Data("m/b.json\nm/none.json\nm/a.json\n".utf8).write(to: URL(fileURLWithPath: keys))
        let got = try bucket.get(["--keys-from", keys])
        #expect(got.status == 0, "\(got.err)")
        let lines = got.out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(lines.map { $0["key"] as? String } == ["m/b.json", "m/none.json", "m/a.json"])
        #expect(lines[0]["text"] as? String == "ünïcödé \"quoted\"\n")
        #expect(lines[1]["missing"] as? Bool == true && lines[1]["text"] == nil)
        #expect(lines[2]["text"] as? String == "{\"rows\":1}\n" && lines[2]["size"] as? Int == 11)
        if backend == .file {
            try ContentCheckTests().flipBit(bucket.scratch.path("store") + "/bucket/m/a.json", at: 3)
            let damaged = try bucket.get(["--keys-from", keys])
            #expect(damaged.status == 1)
            #expect(damaged.err.contains("m/a.json: the content's MD5"), "\(damaged.err)")
        }
    }
}
