import Foundation
import Testing
import TestSupport

@Suite("incomplete uploads at start")
struct IncompleteUploadTests {
    /// Starts a multipart upload with boto3 (and uploads one part), as a run in flight would have.
    private func startUpload(_ f: ArchiveFixture, key: String) throws {
        let script = """
            import boto3, sys
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
            u = s3.create_multipart_upload(Bucket=sys.argv[2], Key=sys.argv[3])
            s3.upload_part(Bucket=sys.argv[2], Key=sys.argv[3], UploadId=u["UploadId"], PartNumber=1, Body=b"x" * 1024)
            """
        let result = try run("python3", ["-c", script, f.s3.endpoint, f.bucket, key], environment: f.s3.environment)
        guard result.status == 0 else { throw TestFailure("boto3 create_multipart_upload: \(result.err)") }
    }

    /// The keys of the open multipart uploads, through boto3.
    private func openUploadKeys(_ f: ArchiveFixture) throws -> [String] {
        let script = """
            import boto3, sys
            r = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").list_multipart_uploads(Bucket=sys.argv[2])
            print("\\n".join(sorted(u["Key"] for u in r.get("Uploads", []))))
            """
        let result = try run("python3", ["-c", script, f.s3.endpoint, f.bucket], environment: f.s3.environment)
        return result.out.split(separator: "\n").map(String.init)
    }

    @Test("archive aborts its own keys' incomplete uploads and old ones, never another run's upload in flight under the same prefix")
    func onlyOwnOrOld() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 20)
        // Both tables' objects live under the fixed prefix "shared/".
        let template = "shared/{YYYY}/{table}"
        let own = "shared/2024/flights/flights-2024-01-01.jsonl.zst"
        let other = "shared/2024/events/events-2024-01-01.jsonl.zst"
        try startUpload(f, key: own)
        try startUpload(f, key: other)
        // moto reports every upload as started in 2010: an age bound far beyond that isolates the
        // own-keys rule (on S3 and the file store, the default 24 h spares an upload in flight).
        let first = try f.archive(["--debug", "--abort-older-than", "100000d"], flags: f.flags(template: template))
        #expect(first.status == 0, "\(first.err)")
        #expect(first.err.contains("2 uploaded"), "\(first.err)")
        let left = try openUploadKeys(f)
        #expect(left == [other], "the other table's upload must survive: \(left)\n\(first.err.suffix(3000))")
        // Once it is older than --abort-older-than, anyone's leftover is cleaned up.
        sleep(2)
        let second = try f.archive(["--abort-older-than", "1s"], flags: f.flags(template: template))
        #expect(second.status == 0, "\(second.err)")
        #expect(try openUploadKeys(f).isEmpty)
        let bad = try f.archive(["--abort-older-than", "soon"], flags: f.flags(template: template))
        #expect(bad.status == 2 && bad.err.contains("abort"), "\(bad.err)")
    }
}
