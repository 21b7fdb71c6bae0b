import Foundation
import Testing
import TestSupport

/// `--region auto`: the bucket's region, asked once with a HeadBucket (`x-amz-bucket-region`).
@Suite("--region auto", .enabled(if: Services.s3Enabled))
struct RegionTests {
    /// A moto bucket created in `region` (LocationConstraint).
    static func bucket(in region: String, _ s3: S3Service) throws -> String {
        let name = "region-\(UUID().uuidString.prefix(13).lowercased())"
        // boto3 (moto takes the LocationConstraint from a signed request's body, not from curl's).
        let script = """
            import boto3, sys
            boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").create_bucket(
                Bucket=sys.argv[2], CreateBucketConfiguration={"LocationConstraint": sys.argv[3]})
            """
        let result = try run("python3", ["-c", script, s3.endpoint, name, region], environment: s3.environment)
        guard result.status == 0 else { throw TestFailure("could not create bucket \(name): \(result.err)") }
        return name
    }

    @Test("moto answers HeadBucket with x-amz-bucket-region: s3get --bucket-region reports it with auto, the given region without")
    func moto() throws {
        let s3 = try Services.requireS3()
        let away = try Self.bucket(in: "eu-west-2", s3)
        let home = try s3.createBucket(prefix: "region")
        func asked(_ bucket: String, _ region: String) throws -> String {
            let result = try run(Package.tool("s3get"), ["--endpoint", s3.endpoint, "--bucket", bucket, "--region", region, "--bucket-region"],
                                 environment: s3.environment)
            #expect(result.status == 0, "\(result.err)")
            return result.out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try asked(away, "auto") == "{\"bucket\":\"\(away)\",\"region\":\"eu-west-2\"}")
        #expect(try asked(home, "auto") == "{\"bucket\":\"\(home)\",\"region\":\"us-east-1\"}")
        #expect(try asked(away, "ap-south-1") == "{\"bucket\":\"\(away)\",\"region\":\"ap-south-1\"}")
        let scratch = try TemporaryDirectory()
        let input = try randomFile(scratch, "in", size: 100)
        let put = try run(Package.tool("s3put"), ["--endpoint", s3.endpoint, "--bucket", away, "--region", "auto", "--key", "k"], stdinFile: input,
                          environment: s3.environment)
        #expect(put.status == 0, "\(put.err)")
        let file = try run(Package.tool("s3get"), ["--endpoint", "file://" + scratch.path(""), "--bucket", "b", "--bucket-region"])
        #expect(file.status == 2 && file.err.contains("a file:// store has no region"), "\(file.err)")
    }

    @Test("a bucket in another region, answered as AWS answers (HeadBucket 301, 400 or 403 with the header): auto signs for it after one question; a wrong region is refused",
          arguments: [301, 400, 403])
    func otherRegion(status: Int) throws {
        let s3 = try Services.requireS3()
        let bucket = try s3.createBucket(prefix: "region")
        let scratch = try TemporaryDirectory()
        let log = scratch.path("stub.log")
        let stub = try HelperProcess([helper("regionstub.py"), s3.endpoint, log, "eu-west-2", String(status)])
        let location = ["--endpoint", "http://127.0.0.1:\(stub.firstLine)", "--bucket", bucket]
        let input = try randomFile(scratch, "in", size: 12 << 20)
        let put = try run(Package.tool("s3put"), location + ["--region", "auto", "--key", "k", "--part-size", "5MiB", "--multipart-threshold", "5MiB"],
                          stdinFile: input, environment: s3.environment)
        #expect(put.status == 0, "\(put.err)")
        let out = scratch.path("out")
        let get = try run(Package.tool("s3get"), location + ["--region", "auto", "--key", "k", "-o", out], environment: s3.environment)
        #expect(get.status == 0, "\(get.err)")
        #expect(try sameBytes(input, out))
        let requests = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        // Each tool asked once (signed as us-east-1); everything else was signed for eu-west-2.
        let asked = requests.filter { $0["region"] as? String == "us-east-1" }
        #expect(asked.count == 2 && asked.allSatisfy { $0["method"] as? String == "HEAD" && $0["path"] as? String == "/\(bucket)" }, "\(asked)")
        #expect(requests.count > 6 && requests.filter { $0["region"] as? String == "eu-west-2" }.count == requests.count - 2)
        let wrong = try run(Package.tool("s3put"), location + ["--region", "us-east-1", "--key", "w"], stdinFile: input, environment: s3.environment)
        #expect(wrong.status != 0 && wrong.err.contains("AuthorizationHeaderMalformed"), "\(wrong.err)")
        withExtendedLifetime(stub) {}
    }
}
