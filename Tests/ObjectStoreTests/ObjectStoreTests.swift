import Foundation
@testable import ObjectStore
import Testing
import TestSupport
import ToolSupport

@Suite("object store pieces")
struct ObjectStorePieceTests {
    /// Reads `data` through a StreamInput in parts of `partSize`; returns the ETag, part count and whole MD5.
    func readParts(_ data: [UInt8], partSize: Int) throws -> (etag: String, parts: Int, md5: [UInt8]) {
        let scratch = try TemporaryDirectory()
        let path = scratch.path("data")
        try Data(data).write(to: URL(fileURLWithPath: path))
        let input = StreamInput(source: try FileSource.open(path: path), partSize: UInt64(partSize), sha256: false,
                                temporaryDirectory: scratch.url.path)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: partSize, alignment: 64)
        defer { buffer.deallocate() }
        var digests: [[UInt8]] = []
        while true {
            let (n, md5) = try input.nextPart(into: buffer)
            if n == 0 { break }
            digests.append(md5)
            if n < partSize { break }
        }
        return (ETag.multipart(partDigests: digests), digests.count, input.digests().md5)
    }

    @Test("the multipart ETag is md5 of the concatenated part digests, suffixed with the part count")
    func multipartETag() throws {
        let data = [UInt8]((0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let result = try readParts(data, partSize: 5 << 20)
        let parts = stride(from: 0, to: data.count, by: 5 << 20).map { Array(data[$0..<min($0 + (5 << 20), data.count)]) }
        let joined = parts.flatMap { Insecure.md5($0) }
        #expect(result.etag == Insecure.hex(Insecure.md5(joined)) + "-3")
        #expect(result.parts == 3)
        #expect(Insecure.hex(result.md5) == Insecure.hex(Insecure.md5(data)))
    }

    @Test("a part size that is no multiple of the MD5 block still gives the right part digests")
    func oddPartSize() throws {
        let data = [UInt8]((0..<(3 * 1_000_003 + 11)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) })
        let result = try readParts(data, partSize: 1_000_003)
        let parts = stride(from: 0, to: data.count, by: 1_000_003).map { Array(data[$0..<min($0 + 1_000_003, data.count)]) }
        #expect(result.etag == Insecure.hex(Insecure.md5(parts.flatMap { Insecure.md5($0) })) + "-4")
    }

    @Test("a single-part ETag is the plain MD5")
    func singleETag() throws {
        #expect(Insecure.hex(try readParts(Array("hello\n".utf8), partSize: 5 << 20).md5) == "b1946ac92492d2347c6235b4d2611184")
    }

    @Test("part size grows in whole MiB so a known size fits in 10,000 parts")
    func partSizeGrowth() {
        #expect(MultipartLimits.partSize(requested: 16 << 20, forSize: 1 << 30) == 16 << 20)
        let huge: UInt64 = 500 << 30
        let grown = MultipartLimits.partSize(requested: 16 << 20, forSize: huge)
        #expect(grown % (1 << 20) == 0)
        #expect((huge + grown - 1) / grown <= 10_000)
        #expect(MultipartLimits.partSize(requested: 16 << 20, forSize: nil) == 16 << 20)
    }

    @Test("ETags lose their quotes, also when XML-escaped")
    func unquote() {
        #expect(ETag.unquote("\"abc-2\"") == "abc-2")
        #expect(ETag.unquote("&quot;abc&quot;") == "abc")
        #expect(ETag.unquote("abc") == "abc")
    }

    @Test("the XML scanner reads listings with entities and skips nested names")
    func xml() {
        let text = "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a &amp; b&lt;c&#x263A;</Key><Size>5</Size>"
            + "<Owner><ID>x</ID></Owner></Contents><Contents><Key>z</Key></Contents><NextContinuationToken>t/=</NextContinuationToken></ListBucketResult>"
        let xml = XMLScanner(Array(text.utf8))
        let items = xml.elements("Contents")
        #expect(items.count == 2)
        #expect(xml.text("Key", in: items[0]) == "a & b<c\u{263A}")
        #expect(xml.text("Size", in: items[0]) == "5")
        #expect(xml.text("NextContinuationToken") == "t/=")
        #expect(xml.elements("Key").count == 2)
    }

    @Test("ARCHIVE_S3_* credentials win over AWS_* ones, which win over the credentials file")
    func credentialPrecedence() throws {
        let file = "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n[profile other]\naws_access_key_id=O\naws_secret_access_key=o\naws_session_token=t\n"
        let read: @Sendable (String) -> String? = { $0 == "/home/u/.aws/credentials" ? file : nil }
        func resolve(_ env: [String: String]) throws -> Credentials? {
            try CredentialSource.resolve(environment: env.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { $1 }, readFile: read)?.current()
        }
        var env = ["HOME": "/home/u", "AWS_ACCESS_KEY_ID": "AWSKEY", "AWS_SECRET_ACCESS_KEY": "awssecret",
                   "ARCHIVE_S3_ACCESS_KEY": "ARCHKEY", "ARCHIVE_S3_SECRET_KEY": "archsecret"]
        #expect(try resolve(env)?.accessKey == "ARCHKEY")
        env["ARCHIVE_S3_ACCESS_KEY"] = nil
        env["ARCHIVE_S3_SECRET_KEY"] = nil
        #expect(try resolve(env)?.accessKey == "AWSKEY")
        env["AWS_ACCESS_KEY_ID"] = nil
        env["AWS_SECRET_ACCESS_KEY"] = nil
        #expect(try resolve(env) == Credentials(accessKey: "FILEKEY", secretKey: "filesecret"))
        env["AWS_PROFILE"] = "other"
        #expect(try resolve(env) == Credentials(accessKey: "O", secretKey: "o", sessionToken: "t"))
        env["AWS_PROFILE"] = "missing"
        #expect(throws: (any Error).self) { try resolve(env) }
        #expect(throws: (any Error).self) { try resolve(["ARCHIVE_S3_ACCESS_KEY": "x"]) }
    }

    @Test("the file store refuses keys with .., a leading /, or empty segments", arguments: ["../x", "a/../b", "/abs", "a//b", "a/", "", "./a"])
    func refusedKeys(key: String) {
        #expect(throws: (any Error).self) { try FileStore.validate(key: key) }
    }

    @Test("the file store accepts ordinary keys with odd characters", arguments: ["a", "a/b/c.txt", "a b/ü+=%.zst", "..a/b..", ".hidden/x"])
    func acceptedKeys(key: String) throws {
        try FileStore.validate(key: key)
    }

    @Test("RFC 3339 and HTTP dates convert")
    func dates() {
        #expect(IncompleteUploads.epochSeconds(rfc3339: "1970-01-02T00:00:01.000Z") == 86401)
        #expect(httpDateToRFC3339("Wed, 25 Nov 2026 09:46:59 GMT") == "2026-11-25T09:46:59Z")
    }
}

/// Reference digests from Foundation-free CryptoKit-like helpers: the `md5sum`/`python` of tests.
enum Insecure {
    static func md5(_ bytes: [UInt8]) -> [UInt8] {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("md5-\(UUID().uuidString)")
        try! Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let out = try! run("python3", ["-c", "import hashlib,sys; print(hashlib.md5(open(sys.argv[1],'rb').read()).hexdigest())", url.path]).out
        let hexText = out.trimmingCharacters(in: .whitespacesAndNewlines)
        return stride(from: 0, to: hexText.count, by: 2).map {
            let i = hexText.index(hexText.startIndex, offsetBy: $0)
            return UInt8(hexText[i..<hexText.index(i, offsetBy: 2)], radix: 16)!
        }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}

@Suite("content checks against the ETag")
struct ContentCheckUnitTests {
    /// Feeds `data` to a check in uneven chunks (so part boundaries fall inside chunks).
    func feed(_ check: ContentCheck, _ data: [UInt8]) {
        var offset = 0
        var step = 1
        while offset < data.count {
            let n = min(step, data.count - offset)
            data[offset..<(offset + n)].withUnsafeBytes { check.update($0) }
            offset += n
            step = step * 3 + 7
        }
    }

    @Test("a multipart ETag is recomputed in the part size the metadata records; one changed byte is a mismatch")
    func multipart() {
        let partSize = 1_000_003
        let data = [UInt8]((0..<(2 * partSize + 12_345)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let parts = stride(from: 0, to: data.count, by: partSize).map { Array(data[$0..<min($0 + partSize, data.count)]) }
        let etag = ETag.multipart(partDigests: parts.map { Insecure.md5($0) })
        let info = ObjectInfo(size: UInt64(data.count), etag: etag, metadata: [ObjectMetadata.partSize: "\(partSize)"])
        #expect(ContentCheck.plan(for: info) == .multipart(partSize: UInt64(partSize), parts: 3))
        let good = ContentCheck(info: info)
        feed(good, data)
        #expect(good.mismatch(name: "k", etag: etag) == nil)
        var changed = data
        changed[partSize + 5] ^= 0x01
        let bad = ContentCheck(info: info)
        feed(bad, changed)
        #expect(bad.mismatch(name: "k", etag: etag)?.hasPrefix("k: the content does not match the ETag \(etag)") == true)
        // The wrong part size gives another ETag: it is a mismatch too, never a silent pass.
        let wrong = ContentCheck(info: ObjectInfo(size: UInt64(data.count), etag: etag, metadata: [ObjectMetadata.partSize: "\(partSize + 1)"]))
        feed(wrong, data)
        #expect(wrong.mismatch(name: "k", etag: etag) != nil)
    }

    @Test("objects whose ETag cannot be recomputed say why")
    func unchecked() {
        let noMeta = ObjectInfo(size: 10, etag: "0123456789abcdef0123456789abcdef-2")
        guard case .unchecked(let why) = ContentCheck.plan(for: noMeta) else { Issue.record("expected unchecked"); return }
        #expect(why.contains("pgarchive-part-size"))
        let kms = ObjectInfo(size: 10, etag: "0123456789abcdef0123456789abcdef", serverSideEncryption: "aws:kms")
        guard case .unchecked = ContentCheck.plan(for: kms) else { Issue.record("expected unchecked for SSE-KMS"); return }
        #expect(ContentCheck.plan(for: ObjectInfo(size: 10, etag: "0123456789abcdef0123456789abcdef")) == .md5)
    }
}
