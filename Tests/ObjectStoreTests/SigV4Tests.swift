import Foundation
import ObjectStore
import Testing
import TestSupport

/// The signer, judged by botocore's own S3 signer at a fixed date and key (moto without auth
/// would accept any signature, so only this comparison catches a signing bug).
@Suite("SigV4 signing")
struct SigV4Tests {
    static let keys = ["plain/object.bin", "a b/c d.txt", "ünïcödé/ключ/日本.csv", "plus+equals=percent%.zst",
                       "semi;colon,comma&amp'quote!(paren)*star~tilde", "deep/a/b/c/d/e/f"]

    /// botocore's Authorization header for the same request, signed at 2024-01-02T03:04:05Z.
    func botocoreAuthorization(method: String, url: String, headers: [(String, String)], sessionToken: String?) throws -> String {
        let script = """
            import sys, json, datetime
            from unittest import mock
            import botocore.auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            from botocore.config import Config
            args = json.loads(sys.argv[1])
            req = AWSRequest(method=args["method"], url=args["url"], headers=dict(args["headers"]))
            req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
            auth = botocore.auth.S3SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", args["token"]), "s3", "eu-central-1")
            fixed = datetime.datetime(2024, 1, 2, 3, 4, 5)
            with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
                auth.add_auth(req)
            print(req.headers["Authorization"])
            """
        let args: [String: Any] = ["method": method, "url": url, "headers": headers.map { [$0.0, $0.1] },
                                   "token": sessionToken as Any]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: args), as: UTF8.self)
        let result = try run("python3", ["-c", script, json])
        guard result.status == 0 else { throw TestFailure("botocore failed: \(result.err)") }
        return result.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func ours(method: String, host: String, path: String, query: [(String, String)], headers: [(String, String)],
              sessionToken: String?) -> String {
        let signer = SigV4Signer(credentials: Credentials(accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                                          sessionToken: sessionToken), region: "eu-central-1")
        let added = signer.sign(method: method, host: host, path: path, query: query, headers: headers,
                                payloadHash: SigV4Signer.unsignedPayload, date: AMZDate(stamp: "20240102T030405Z"))
        return added.first { $0.0 == "Authorization" }!.1
    }

    @Test("path-style PUT of keys with spaces, unicode, +, = and % signs as botocore does", arguments: keys)
    func pathStyle(key: String) throws {
        let path = "/my-bucket/" + SigV4Signer.uriEncode(key, keepSlash: true)
        let headers = [("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="), ("Content-Type", "application/octet-stream"),
                       ("x-amz-meta-pgarchive-schema", "abc123")]
        let query = [("partNumber", "3"), ("uploadId", "2~x/y+z=")]
        let url = "https://s3.example.test:9000\(path)?\(SigV4Signer.canonicalQuery(query))"
        let expected = try botocoreAuthorization(method: "PUT", url: url, headers: headers, sessionToken: nil)
        #expect(ours(method: "PUT", host: "s3.example.test:9000", path: path, query: query, headers: headers, sessionToken: nil) == expected)
    }

    @Test("virtual-hosted GET with a listing query and a session token signs as botocore does")
    func virtualHost() throws {
        let query = [("list-type", "2"), ("prefix", "a b/ü+="), ("continuation-token", "tok/en==")]
        let url = "https://my-bucket.s3.eu-central-1.amazonaws.com/?\(SigV4Signer.canonicalQuery(query))"
        let expected = try botocoreAuthorization(method: "GET", url: url, headers: [], sessionToken: "session/token+x")
        #expect(ours(method: "GET", host: "my-bucket.s3.eu-central-1.amazonaws.com", path: "/", query: query, headers: [],
                     sessionToken: "session/token+x") == expected)
    }

    @Test("CreateMultipartUpload's bare 'uploads' query signs as botocore does")
    func uploadsQuery() throws {
        let path = "/b/" + SigV4Signer.uriEncode("x y.bin", keepSlash: true)
        let url = "https://s3.example.test\(path)?uploads="
        let headers = [("Content-Type", "application/octet-stream")]
        let expected = try botocoreAuthorization(method: "POST", url: url, headers: headers, sessionToken: nil)
        #expect(ours(method: "POST", host: "s3.example.test", path: path, query: [("uploads", "")], headers: headers, sessionToken: nil) == expected)
    }

    @Test("region auto signs as us-east-1")
    func autoRegion() {
        let signer = SigV4Signer(credentials: Credentials(accessKey: "A", secretKey: "S"), region: "auto")
        #expect(signer.region == "us-east-1")
    }

    @Test("credentials never print their secret")
    func secretHidden() {
        let text = "\(Credentials(accessKey: "AKID", secretKey: "very-secret"))"
        #expect(!text.contains("very-secret"))
    }
}
