import Digest
import FoundationEssentials
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

// The fetching sources of the credential chain (Credentials.swift): the shared files' profiles,
// STS, the container endpoint, instance metadata and credential_process.

// MARK: Shared files

/// `~/.aws/config` and `~/.aws/credentials` (or `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`).
struct SharedFiles {
    var configPath: String
    var credentialsPath: String
    var config: [String: [String: String]]
    var credentials: [String: [String: String]]
    /// `AWS_PROFILE`, else `default`.
    var activeProfile: String

    init(environment: [String: String], readFile: (String) -> String?) {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let home = value("HOME") ?? ""
        configPath = value("AWS_CONFIG_FILE") ?? "\(home)/.aws/config"
        credentialsPath = value("AWS_SHARED_CREDENTIALS_FILE") ?? "\(home)/.aws/credentials"
        config = readFile(configPath).map(CredentialSource.parseINI) ?? [:]
        credentials = readFile(credentialsPath).map(CredentialSource.parseINI) ?? [:]
        activeProfile = value("AWS_PROFILE") ?? "default"
    }

    /// A profile's settings: the config file's, with the credentials file's keys winning.
    func profile(_ name: String) -> [String: String]? {
        guard config[name] != nil || credentials[name] != nil else { return nil }
        return (config[name] ?? [:]).merging(credentials[name] ?? [:]) { $1 }
    }
}

extension ChainContext {
    /// Step 4: the active profile of the shared files.
    func sharedFiles() throws -> CredentialProvider? {
        let files = SharedFiles(environment: environment, readFile: readFile)
        let explicit = value("AWS_PROFILE")
        guard files.profile(files.activeProfile) != nil else {
            if let explicit { throw ToolError("profile \"\(explicit)\" is in neither \(files.configPath) nor \(files.credentialsPath)") }
            return nil
        }
        return try profileProvider(files.activeProfile, files: files, depth: 0, required: explicit != nil)
    }

    private func profileProvider(_ name: String, files: SharedFiles, depth: Int, required: Bool) throws -> CredentialProvider? {
        guard depth < 5 else { throw ToolError("profile \"\(name)\": source_profile chain longer than 5 (a loop?)") }
        guard let p = files.profile(name) else { throw ToolError("source profile \"\(name)\" is in neither \(files.configPath) nor \(files.credentialsPath)") }
        let staticKeys = try keys(of: p, name: name)
        if let role = p["role_arn"] {
            let session = p["role_session_name"]
            if let tokenFile = p["web_identity_token_file"] {
                return try webIdentityProvider(tokenFile: tokenFile, role: role, session: session)
            }
            let base: CredentialProvider
            if let source = p["source_profile"] {
                if source == name, let staticKeys {
                    base = CredentialProvider(fixed: staticKeys, origin: "profile \(name)")
                } else {
                    guard let found = try profileProvider(source, files: files, depth: depth + 1, required: true) else {
                        throw ToolError("source profile \"\(source)\" has no credentials")
                    }
                    base = found
                }
            } else {
                throw ToolError("profile \"\(name)\" has role_arn but neither source_profile nor web_identity_token_file")
            }
            var client = self.sts
            if let region = p["region"], value("AWS_REGION") == nil, value("AWS_DEFAULT_REGION") == nil { client.region = region }
            let sts = client
            let externalID = p["external_id"]
            let duration = p["duration_seconds"].flatMap { Int($0) }
            let session2 = session ?? "pgarchive-\(clock())"
            return try fetching("profile \(name) (role \(role))") {
                try sts.assumeRole(role: role, session: session2, externalID: externalID, duration: duration, credentials: try base.current())
            }
        }
        if let staticKeys { return CredentialProvider(fixed: staticKeys, origin: "profile \(name)") }
        if let command = p["credential_process"] {
            let clock = self.clock
            return try fetching("credential_process of profile \(name)") { try CredentialProcess.run(command, clock: clock) }
        }
        if required {
            throw ToolError("profile \"\(name)\" has no credentials (aws_access_key_id, role_arn or credential_process)")
        }
        return nil
    }

    private func keys(of p: [String: String], name: String) throws -> Credentials? {
        switch (p["aws_access_key_id"], p["aws_secret_access_key"]) {
        case let (a?, s?): return Credentials(accessKey: a, secretKey: s, sessionToken: p["aws_session_token"])
        case (_?, nil), (nil, _?): throw ToolError("profile \"\(name)\" lacks aws_access_key_id or aws_secret_access_key")
        case (nil, nil): return nil
        }
    }
}

// MARK: STS

/// The STS query API (POST, form-encoded, version 2011-06-15) for the two calls the chain makes.
struct STSClient: Sendable {
    /// `AWS_ENDPOINT_URL_STS`/`AWS_ENDPOINT_URL`; nil: the regional endpoint (global without a region).
    var endpoint: String?
    var region: String?
    var clock: @Sendable () -> Int64

    var url: String { endpoint ?? region.map { "https://sts.\($0).amazonaws.com" } ?? "https://sts.amazonaws.com" }

    func assumeRoleWithWebIdentity(role: String, session: String, token: String) throws -> TimedCredentials {
        try call("AssumeRoleWithWebIdentity", ["RoleArn": role, "RoleSessionName": session, "WebIdentityToken": token], signer: nil)
    }

    func assumeRole(role: String, session: String, externalID: String?, duration: Int?, credentials: Credentials) throws -> TimedCredentials {
        var parameters = ["RoleArn": role, "RoleSessionName": session]
        if let externalID { parameters["ExternalId"] = externalID }
        if let duration { parameters["DurationSeconds"] = String(duration) }
        var signer = SigV4Signer(credentials: credentials, region: region ?? "us-east-1")
        signer.service = "sts"
        return try call("AssumeRole", parameters, signer: signer)
    }

    private func call(_ action: String, _ parameters: [String: String], signer: SigV4Signer?) throws -> TimedCredentials {
        let body = SigV4Signer.canonicalQuery([("Action", action), ("Version", "2011-06-15")] + parameters.map { ($0.key, $0.value) })
        guard let parts = splitScheme(url), parts.scheme == "https" || parts.scheme == "http" else {
            throw ToolError("STS endpoint \"\(url)\" is not an http(s) URL")
        }
        let slash = parts.rest.firstIndex(of: "/") ?? parts.rest.endIndex
        let host = String(parts.rest[..<slash])
        let path = parts.rest[slash...].isEmpty ? "/" : String(parts.rest[slash...])
        var headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        if let signer {
            headers += signer.sign(method: "POST", host: host, path: path, query: [], headers: headers,
                                   payloadHash: hex(Digest.hash(.sha256, body)), date: .now())
        }
        let response = try fetchWithRetries(what: "STS \(action)") { curl in
            try Array(body.utf8).withUnsafeBytes { raw in
                try curl.perform(HTTPRequest(method: "POST", url: url, headers: headers, body: MemoryBytes(raw), consumer: nil,
                                             timeoutMilliseconds: 30_000))
            }
        }
        let xml = XMLScanner(response.body)
        guard response.status == 200 else {
            let scope = xml.elements("Error").first
            let code = xml.text("Code", in: scope) ?? "HTTP\(response.status)"
            let message = xml.text("Message", in: scope).map { ": \($0)" } ?? ""
            throw ToolError("STS \(action) at \(url): \(code)\(message) (HTTP \(response.status))")
        }
        let scope = xml.elements("Credentials").first
        guard let access = xml.text("AccessKeyId", in: scope), let secret = xml.text("SecretAccessKey", in: scope),
              let token = xml.text("SessionToken", in: scope) else {
            throw ToolError("STS \(action) at \(url): no Credentials in the response")
        }
        let expiration = xml.text("Expiration", in: scope).flatMap(parseTimestamp)
        return TimedCredentials(Credentials(accessKey: access, secretKey: secret, sessionToken: token), expiration: expiration, obtained: clock())
    }
}

/// Runs a request up to three times while the transport fails or the server answers 5xx.
func fetchWithRetries(what: String, attempts: Int = 3, _ request: (CurlHandle) throws -> HTTPResponse) throws -> HTTPResponse {
    let curl = try CurlHandle(caBundle: nil)
    var attempt = 0
    while true {
        attempt += 1
        do {
            let response = try request(curl)
            if response.status >= 500 && attempt < attempts { RetryPolicy().pause(after: attempt, reason: "\(what): HTTP \(response.status)"); continue }
            return response
        } catch let error as TransportError {
            if attempt < attempts { RetryPolicy().pause(after: attempt, reason: "\(what): \(error.message)"); continue }
            throw ToolError("\(what): \(error.message)")
        }
    }
}

// MARK: Container credentials

/// The ECS / EKS Pod Identity credentials endpoint.
enum ContainerEndpoint {
    /// HTTPS anywhere; HTTP only on loopback, the ECS host 169.254.170.2 or the EKS host
    /// 169.254.170.23 / fd00:ec2::23.
    static func isAllowed(_ url: String) -> Bool {
        guard let parts = splitScheme(url) else { return false }
        if parts.scheme == "https" { return true }
        guard parts.scheme == "http" else { return false }
        var authority = Substring(parts.rest.prefix { $0 != "/" && $0 != "?" })
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host: Substring
        if authority.hasPrefix("[") {
            host = authority.dropFirst().prefix { $0 != "]" }
        } else {
            host = authority.prefix { $0 != ":" }
        }
        let name = host.lowercased()
        if ["localhost", "::1", "169.254.170.2", "169.254.170.23", "fd00:ec2::23"].contains(name) { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    struct Answer: Decodable {
        var AccessKeyId: String?
        var SecretAccessKey: String?
        var Token: String?
        var Expiration: String?
        var code: String?
        var message: String?
    }

    static func fetch(url: String, authorization: String?, clock: @Sendable () -> Int64) throws -> TimedCredentials {
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let authorization { headers.append(("Authorization", authorization)) }
        let response = try fetchWithRetries(what: "container credentials at \(url)") { curl in
            try curl.perform(HTTPRequest(method: "GET", url: url, headers: headers, body: nil, consumer: nil, timeoutMilliseconds: 5_000))
        }
        let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body))
        guard response.status == 200, let answer, let access = answer.AccessKeyId, let secret = answer.SecretAccessKey else {
            let detail = answer.map { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") } ?? ""
            throw ToolError("container credentials at \(url): HTTP \(response.status)\(detail.isEmpty ? "" : " \(detail)")")
        }
        return TimedCredentials(Credentials(accessKey: access, secretKey: secret, sessionToken: answer.Token),
                                expiration: answer.Expiration.flatMap(parseTimestamp), obtained: clock())
    }
}

// MARK: Instance metadata

/// EC2 instance metadata: IMDSv2 (a session token from `PUT /latest/api/token`), IMDSv1 when
/// the token request times out (a hop limit of 1 seen from a container drops the answer) unless
/// `AWS_EC2_METADATA_V1_DISABLED=true`. One second per request: off EC2 nothing answers.
struct InstanceMetadata: Sendable {
    var endpoint: String
    var allowV1: Bool
    var clock: @Sendable () -> Int64
    static let timeout = 1_000

    private var base: String { endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint }

    /// A session token; nil for IMDSv1. Throws `TransportError` when nothing answers at all.
    private func token(_ curl: CurlHandle) throws -> String? {
        do {
            let response = try curl.perform(HTTPRequest(method: "PUT", url: base + "/latest/api/token",
                                                         headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")],
                                                         body: nil, consumer: nil, timeoutMilliseconds: Self.timeout))
            if response.status == 200 { return String(decoding: response.body, as: UTF8.self).trimmingSpaces() }
            if allowV1 && [403, 404, 405].contains(response.status) { return nil }
            throw ToolError("instance metadata at \(base): the token request answered HTTP \(response.status)")
        } catch let error as TransportError where allowV1 && error.code == 28 {  // CURLE_OPERATION_TIMEDOUT
            return nil
        }
    }

    private func get(_ path: String, _ curl: CurlHandle, token: String?) throws -> HTTPResponse {
        try curl.perform(HTTPRequest(method: "GET", url: base + path, headers: token.map { [("X-aws-ec2-metadata-token", $0)] } ?? [],
                                     body: nil, consumer: nil, timeoutMilliseconds: Self.timeout))
    }

    /// The instance profile's role; nil off EC2 (no answer) or without a role (404).
    func roleName() throws -> String? {
        let curl = try CurlHandle(caBundle: nil)
        let response: HTTPResponse
        do {
            response = try get("/latest/meta-data/iam/security-credentials/", curl, token: try token(curl))
        } catch is TransportError {
            return nil
        }
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw ToolError("instance metadata at \(base): HTTP \(response.status) for the role name") }
        return String(decoding: response.body, as: UTF8.self).split(separator: "\n").first.map { $0.trimmingSpaces() }
    }

    struct Answer: Decodable {
        var Code: String?
        var AccessKeyId: String?
        var SecretAccessKey: String?
        var Token: String?
        var Expiration: String?
    }

    func credentials(role: String) throws -> TimedCredentials {
        let curl = try CurlHandle(caBundle: nil)
        let response: HTTPResponse
        do {
            response = try get("/latest/meta-data/iam/security-credentials/" + role, curl, token: try token(curl))
        } catch let error as TransportError {
            throw ToolError("instance metadata at \(base): \(error.message)")
        }
        let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body))
        guard response.status == 200, let answer, answer.Code == nil || answer.Code == "Success",
              let access = answer.AccessKeyId, let secret = answer.SecretAccessKey else {
            throw ToolError("instance metadata at \(base): no credentials for role \(role) (HTTP \(response.status)\(answer?.Code.map { ", \($0)" } ?? ""))")
        }
        return TimedCredentials(Credentials(accessKey: access, secretKey: secret, sessionToken: answer.Token),
                                expiration: answer.Expiration.flatMap(parseTimestamp), obtained: clock())
    }
}

// MARK: credential_process

/// A profile's `credential_process`: run with `/bin/sh -c`, its standard output one JSON object
/// `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration"?}`; its
/// standard error passes through.
enum CredentialProcess {
    struct Answer: Decodable {
        var Version: Int
        var AccessKeyId: String
        var SecretAccessKey: String
        var SessionToken: String?
        var Expiration: String?
    }

    static func run(_ command: String, clock: @Sendable () -> Int64) throws -> TimedCredentials {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ToolError("credential_process: pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, nil, argv, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw ToolError("credential_process: cannot start /bin/sh: \(String(cString: strerror(rc)))")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if output.count < 1 << 20 { output += buffer[0..<n] }
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        guard exited && (status >> 8) & 0xff == 0 else {
            throw ToolError("credential_process failed (\(exited ? "exit status \((status >> 8) & 0xff)" : "killed by signal \(status & 0x7f)"))")
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(output)) else {
            throw ToolError("credential_process printed no JSON object with Version, AccessKeyId and SecretAccessKey")
        }
        guard answer.Version == 1 else { throw ToolError("credential_process answered Version \(answer.Version), expected 1") }
        return TimedCredentials(Credentials(accessKey: answer.AccessKeyId, secretKey: answer.SecretAccessKey, sessionToken: answer.SessionToken),
                                expiration: answer.Expiration.flatMap(parseTimestamp), obtained: clock())
    }
}

// MARK: Times

/// Seconds since the epoch of an RFC 3339 time (`2026-12-04T19:00:00Z`, fractions and
/// `+hh:mm` offsets allowed); nil when it is not one.
public func parseTimestamp(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    func number(_ from: Int, _ count: Int) -> Int? {
        guard from + count <= b.count else { return nil }
        var n = 0
        for byte in b[from..<(from + count)] {
            guard byte >= 48 && byte <= 57 else { return nil }
            n = n * 10 + Int(byte - 48)
        }
        return n
    }
    guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
          b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
          let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
          let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
          Civil.isValid(year: year, month: month, day: day), hour < 24, minute < 60, second < 61 else { return nil }
    var i = 19
    if i < b.count && b[i] == UInt8(ascii: ".") {
        i += 1
        while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1 }
    }
    var offset = 0
    if i < b.count && (b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z")) {
        i += 1
    } else if i + 6 == b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), b[i + 3] == UInt8(ascii: ":"),
              let h = number(i + 1, 2), let m = number(i + 4, 2) {
        offset = (h * 60 + m) * 60 * (b[i] == UInt8(ascii: "-") ? -1 : 1)
        i += 6
    } else {
        return nil
    }
    guard i == b.count else { return nil }
    let days = Civil.days(year: year, month: month, day: day)
    return Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second - offset)
}

/// RFC 3339 UTC text of seconds since the epoch.
public func formatTimestamp(_ seconds: Int64) -> String { rfc3339(time_t(seconds)) }

/// A small text file's content (credential and config files, tokens; at most 1 MiB); nil when
/// it cannot be read.
@Sendable public func readTextFile(_ path: String) -> String? {
    guard let source = try? FileSource.open(path: path) else { return nil }
    var bytes: [UInt8] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
    defer { buffer.deallocate() }
    while let n = try? source.read(into: buffer), n > 0, bytes.count < 1 << 20 {
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
