import Foundation
@testable import ObjectStore
import Testing
import TestSupport
import ToolSupport

/// A clock a test moves by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64
    init(_ start: Int64) { value = start }
    var now: Int64 { lock.withLock { value } }
    func advance(_ seconds: Int64) { lock.withLock { value += seconds } }
}

/// Counts calls of a fetch closure.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
    var count: Int { lock.withLock { value } }
}

@Suite("credential chain pieces")
struct CredentialTests {
    @Test("RFC 3339 expirations: Z, fractions, offsets; anything else is refused")
    func timestamps() {
        #expect(parseTimestamp("1970-01-01T00:00:00Z") == 0)
        #expect(parseTimestamp("2026-12-04T19:28:34.658306Z") == 1_796_412_514)
        #expect(parseTimestamp("2026-12-04T20:28:34+01:00") == 1_796_412_514)
        #expect(parseTimestamp("2024-02-29T00:00:00Z") == 1_709_164_800)
        for wrong in ["", "2026-12-04", "2026-12-04 19:28:34Z", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-12-04T19:28:34",
                      "2026-12-04T19:28:34Zjunk"] {
            #expect(parseTimestamp(wrong) == nil, "\(wrong)")
        }
        #expect(formatTimestamp(1_796_412_514) == "2026-12-04T19:28:34Z")
    }

    @Test("container FULL_URI: HTTPS anywhere, HTTP only on loopback and the ECS/EKS hosts")
    func containerHosts() {
        for allowed in ["https://creds.example.com/x", "http://127.0.0.1:8080/creds", "http://127.9.8.7/c", "http://localhost:1/c",
                        "http://[::1]:9/c", "http://169.254.170.2/v2/credentials/x", "http://169.254.170.23/v1/credentials",
                        "http://[fd00:ec2::23]/v1/credentials"] {
            #expect(ContainerEndpoint.isAllowed(allowed), "\(allowed)")
        }
        for refused in ["http://192.0.2.1/creds", "http://169.254.169.254/latest", "http://169.254.170.3/x", "http://example.com/c",
                        "http://127.0.0.1.example.com/c", "http://128.0.0.1/c", "ftp://127.0.0.1/c", "127.0.0.1/c"] {
            #expect(!ContainerEndpoint.isAllowed(refused), "\(refused)")
        }
    }

    @Test("temporary keys are fetched again half-way through a short lifetime and five minutes before a long one ends")
    func refresh() throws {
        let clock = TestClock(1000)
        let fetches = Counter()
        let lifetime = TestClock(20)
        let provider = CredentialProvider(origin: "test", clock: { clock.now }) {
            let n = fetches.next()
            return TimedCredentials(Credentials(accessKey: "K\(n)", secretKey: "s"), expiration: clock.now + lifetime.now, obtained: clock.now)
        }
        #expect(try provider.current().accessKey == "K1")
        clock.advance(9)
        #expect(try provider.current().accessKey == "K1")
        clock.advance(1)
        #expect(try provider.current().accessKey == "K2")
        #expect(fetches.count == 2)
        lifetime.advance(3600 - 20)
        clock.advance(10)
        #expect(try provider.current().accessKey == "K3")  // fetched with an hour's lifetime
        clock.advance(3600 - 301)
        #expect(try provider.current().accessKey == "K3")
        clock.advance(2)
        #expect(try provider.current().accessKey == "K4")
        let fixed = CredentialProvider(fixed: Credentials(accessKey: "F", secretKey: "f"), origin: "fixed")
        #expect(try fixed.current().accessKey == "F")
    }

    @Test("a failed refresh keeps keys that are still valid, and fails once they are not")
    func failedRefresh() throws {
        let clock = TestClock(0)
        let fetches = Counter()
        let provider = CredentialProvider(origin: "flaky source", clock: { clock.now }) {
            if fetches.next() > 1 { throw ToolError("endpoint down") }
            return TimedCredentials(Credentials(accessKey: "K1", secretKey: "s"), expiration: 100, obtained: 0)
        }
        #expect(try provider.current().accessKey == "K1")
        clock.advance(60)
        #expect(try provider.current().accessKey == "K1")
        clock.advance(35)
        let error = #expect(throws: ToolError.self) { try provider.current() }
        #expect(error?.message.contains("flaky source") == true && error?.message.contains("endpoint down") == true)
    }

    @Test("profiles: [profile x] in the config file, keys from the credentials file win, region, credential_process")
    func profiles() throws {
        let scratch = try TemporaryDirectory()
        let script = scratch.path("creds.sh")
        try """
            #!/bin/sh
            echo '{"Version": 1, "AccessKeyId": "PROCKEY", "SecretAccessKey": "procsecret", "SessionToken": "proctoken", "Expiration": "2999-01-01T00:00:00Z"}'
            """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let config = """
            [default]
            region = eu-west-3
            [profile both]
            aws_access_key_id = CONFIGKEY
            aws_secret_access_key = configsecret
            region = ap-south-1
            [profile process]
            credential_process = \(script) --profile process
            [profile broken]
            credential_process = /bin/false
            [profile norole]
            role_arn = arn:aws:iam::123456789012:role/x
            [profile empty]
            region = us-west-2
            """
        let credentials = "[both]\naws_access_key_id = CREDKEY\naws_secret_access_key = credsecret\n"
        let read: @Sendable (String) -> String? = { ["/h/.aws/config": config, "/h/.aws/credentials": credentials][$0] }
        func env(_ profile: String?) -> [String: String] {
            var env = ["HOME": "/h", "AWS_EC2_METADATA_DISABLED": "true"]
            env["AWS_PROFILE"] = profile
            return env
        }
        #expect(try CredentialSource.resolve(environment: env("both"), readFile: read)?.current().accessKey == "CREDKEY")
        #expect(CredentialSource.profileRegion(environment: env("both"), readFile: read) == "ap-south-1")
        #expect(CredentialSource.profileRegion(environment: env(nil), readFile: read) == "eu-west-3")
        // The default profile has only a region: no credentials, no error.
        #expect(try CredentialSource.resolve(environment: env(nil), readFile: read) == nil)
        let process = try #require(try CredentialSource.resolve(environment: env("process"), readFile: read))
        #expect(try process.currentTimed().credentials == Credentials(accessKey: "PROCKEY", secretKey: "procsecret", sessionToken: "proctoken"))
        #expect(try process.currentTimed().expiration == parseTimestamp("2999-01-01T00:00:00Z"))
        for (profile, message) in [("broken", "credential_process failed (exit status 1)"),
                                   ("norole", "profile \"norole\" has role_arn but neither source_profile nor web_identity_token_file"),
                                   ("empty", "profile \"empty\" has no credentials"),
                                   ("nowhere", "profile \"nowhere\" is in neither /h/.aws/config nor /h/.aws/credentials")] {
            let error = #expect(throws: ToolError.self) { try CredentialSource.resolve(environment: env(profile), readFile: read) }
            #expect(error?.message.contains(message) == true, "\(profile): \(error?.message ?? "")")
        }
    }

    @Test("keys handed down with an expiration are used until near it, then the rest of the chain replaces them")
    func handedKeys() throws {
        let scratch = try TemporaryDirectory()
        let script = scratch.path("creds.sh")
        try "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"FRESHKEY\", \"SecretAccessKey\": \"fresh\"}'\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let config = "[default]\ncredential_process = \(script)\n"
        let read: @Sendable (String) -> String? = { $0 == "/h/.aws/config" ? config : nil }
        let clock = TestClock(parseTimestamp("2026-01-01T00:00:00Z")!)
        let env = ["HOME": "/h", "AWS_EC2_METADATA_DISABLED": "true", "ARCHIVE_S3_ACCESS_KEY": "HANDED", "ARCHIVE_S3_SECRET_KEY": "h",
                   "ARCHIVE_S3_SESSION_TOKEN": "ht", "ARCHIVE_S3_CREDENTIALS_EXPIRATION": "2026-01-01T01:00:00Z",
                   // Static AWS_* keys are step 2: a refresh of handed keys skips them.
                   "AWS_ACCESS_KEY_ID": "STATIC", "AWS_SECRET_ACCESS_KEY": "static"]
        let provider = try #require(try CredentialSource.resolve(environment: env, readFile: read, clock: { clock.now }))
        #expect(try provider.current() == Credentials(accessKey: "HANDED", secretKey: "h", sessionToken: "ht"))
        clock.advance(3600 - 301)
        #expect(try provider.current().accessKey == "HANDED")
        clock.advance(2)
        #expect(try provider.current().accessKey == "FRESHKEY")
        var bad = env
        bad["ARCHIVE_S3_CREDENTIALS_EXPIRATION"] = "tomorrow"
        #expect(throws: ToolError.self) { try CredentialSource.resolve(environment: bad, readFile: read) }
    }

    @Test("half-configured sources are errors that name the missing variable")
    func halfConfigured() throws {
        let read: @Sendable (String) -> String? = { _ in nil }
        for (env, message) in [(["AWS_WEB_IDENTITY_TOKEN_FILE": "/t"], "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not"),
                               (["AWS_ROLE_ARN": "arn:aws:iam::1:role/r"], "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not"),
                               (["AWS_SECRET_ACCESS_KEY": "s"], "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"),
                               (["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://192.0.2.1/creds"], "is refused: it must be HTTPS")] {
            let error = #expect(throws: ToolError.self) {
                try CredentialSource.resolve(environment: env.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { $1 }, readFile: read)
            }
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        }
        let none = try CredentialSource.resolve(environment: ["AWS_EC2_METADATA_DISABLED": "true"], readFile: read)
        #expect(none == nil)
    }
}
