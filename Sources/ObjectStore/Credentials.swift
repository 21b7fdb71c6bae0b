import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// Where S3 credentials come from: one chain, tried in this order (man/s3put.1 pins it).
///
/// 1. `ARCHIVE_S3_ACCESS_KEY` + `ARCHIVE_S3_SECRET_KEY` (+ `ARCHIVE_S3_SESSION_TOKEN`); with
///    `ARCHIVE_S3_CREDENTIALS_EXPIRATION` they are temporary keys handed down by data-archiver,
///    refreshed near expiry through steps 3 to 6.
/// 2. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`).
/// 3. Web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`)
///    → STS AssumeRoleWithWebIdentity (EKS IRSA); the token file is re-read at every refresh.
/// 4. The shared files: profile `AWS_PROFILE` (else `default`) of `AWS_CONFIG_FILE`
///    (`~/.aws/config`, `[profile NAME]`) and `AWS_SHARED_CREDENTIALS_FILE`
///    (`~/.aws/credentials`, `[NAME]`): static keys, `role_arn` with `source_profile` (STS
///    AssumeRole) or `web_identity_token_file`, or `credential_process`.
/// 5. Container credentials: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on 169.254.170.2) or
///    `AWS_CONTAINER_CREDENTIALS_FULL_URI` (HTTPS, loopback, 169.254.170.2 or 169.254.170.23),
///    with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (re-read each time) or `…_TOKEN` (ECS, EKS
///    Pod Identity).
/// 6. EC2 instance metadata (IMDSv2 token, IMDSv1 when the token request times out), unless
///    `AWS_EC2_METADATA_DISABLED=true`; `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves it.
///
/// Nothing found: requests go unsigned. Secrets never come from argv and are never printed.
public enum CredentialSource {
    /// The environment variables the chain reads (the object-store tools' allowlist includes them).
    public static let variableNames = [
        "ARCHIVE_S3_ACCESS_KEY", "ARCHIVE_S3_SECRET_KEY", "ARCHIVE_S3_SESSION_TOKEN", "ARCHIVE_S3_CREDENTIALS_EXPIRATION",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
        "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "HOME",
        "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_V1_DISABLED",
    ]

    /// The chain over `environment` (values the caller read); nil when no source has credentials.
    /// Sources that fetch (STS, container, IMDS, process) fetch once here, so a bad set-up fails
    /// before any data moves.
    public static func resolve(environment: [String: String], readFile: @escaping @Sendable (String) -> String?,
                               clock: @escaping @Sendable () -> Int64 = { Int64(time(nil)) }) throws -> CredentialProvider? {
        let context = ChainContext(environment: environment, readFile: readFile, clock: clock)
        return try context.resolve()
    }

    /// The region of the active profile of the shared config file, if it names one.
    public static func profileRegion(environment: [String: String], readFile: (String) -> String?) -> String? {
        let files = SharedFiles(environment: environment, readFile: readFile)
        return files.profile(files.activeProfile)?["region"]
    }

    /// Sections of an INI file: `[name]` headers (`[profile name]` → `name`), `key = value`
    /// lines, `#`/`;` comments.
    static func parseINI(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = raw.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                var name = String(line.dropFirst().dropLast()).trimmingSpaces()
                if name.hasPrefix("profile ") { name = String(name.dropFirst(8)).trimmingSpaces() }
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
            } else if let current, let eq = line.firstIndex(of: "=") {
                let key = line[..<eq].trimmingSpaces().lowercased()
                sections[current]![key] = line[line.index(after: eq)...].trimmingSpaces()
            }
        }
        return sections
    }
}

/// Keys with the time they stop working (seconds since the epoch; nil: never).
public struct TimedCredentials: Sendable {
    public var credentials: Credentials
    public var expiration: Int64?
    /// When they were obtained.
    public var obtained: Int64

    public init(_ credentials: Credentials, expiration: Int64?, obtained: Int64) {
        self.credentials = credentials
        self.expiration = expiration
        self.obtained = obtained
    }

    /// Whether to fetch new ones at `now`: five minutes before expiry, or half-way through a
    /// shorter lifetime.
    func needsRefresh(now: Int64) -> Bool {
        guard let expiration else { return false }
        let margin = min(300, max(1, (expiration - obtained) / 2))
        return now >= expiration - margin
    }
}

/// Signing keys from one source of the chain, refreshed before they expire; thread-safe (the
/// part uploads of s3put sign from several threads).
public final class CredentialProvider: @unchecked Sendable {
    /// Which source they come from, for messages (no secret).
    public let origin: String
    private let fetch: @Sendable () throws -> TimedCredentials
    private let clock: @Sendable () -> Int64
    private var cached: TimedCredentials?
    private let lock = Lock()

    /// A provider whose first keys are `initial` (nil: fetched on first use).
    public init(origin: String, initial: TimedCredentials? = nil, clock: @escaping @Sendable () -> Int64,
                fetch: @escaping @Sendable () throws -> TimedCredentials) {
        self.origin = origin
        self.cached = initial
        self.clock = clock
        self.fetch = fetch
    }

    /// Keys that never change.
    public convenience init(fixed credentials: Credentials, origin: String) {
        let timed = TimedCredentials(credentials, expiration: nil, obtained: 0)
        self.init(origin: origin, initial: timed, clock: { 0 }, fetch: { timed })
    }

    /// Keys valid now, fetching new ones when the cached ones are near expiry. A failed refresh
    /// keeps the old keys while they are still valid.
    public func current() throws -> Credentials { try currentTimed().credentials }

    /// `current()` with its expiration.
    public func currentTimed() throws -> TimedCredentials {
        try lock.withLock {
            let now = clock()
            if let cached, !cached.needsRefresh(now: now) { return cached }
            do {
                let fresh = try fetch()
                cached = fresh
                return fresh
            } catch {
                if let cached, let expiration = cached.expiration, now < expiration - 10 { return cached }
                guard cached != nil else { throw error }
                throw ToolError("refreshing the credentials from \(origin): \(error)")
            }
        }
    }

    /// Fetches new keys now, whatever the cached ones' expiry (the server said the token
    /// expired); returns whether they differ from the cached ones.
    public func refreshNow() throws -> Bool {
        try lock.withLock {
            let fresh = try fetch()
            defer { cached = fresh }
            return fresh.credentials != cached?.credentials
        }
    }
}

/// The chain's inputs and its steps.
struct ChainContext: Sendable {
    var environment: [String: String]
    var readFile: @Sendable (String) -> String?
    var clock: @Sendable () -> Int64

    func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    func resolve() throws -> CredentialProvider? {
        if let keys = try environmentKeys("ARCHIVE_S3_ACCESS_KEY", "ARCHIVE_S3_SECRET_KEY", "ARCHIVE_S3_SESSION_TOKEN") {
            guard let text = value("ARCHIVE_S3_CREDENTIALS_EXPIRATION") else {
                return CredentialProvider(fixed: keys, origin: "ARCHIVE_S3_ACCESS_KEY")
            }
            guard let expiration = parseTimestamp(text) else {
                throw ToolError("ARCHIVE_S3_CREDENTIALS_EXPIRATION \"\(text)\" is not an RFC 3339 UTC time")
            }
            // Handed down by data-archiver: use them, then refresh through the rest of the chain.
            let rest = self
            return CredentialProvider(
                origin: "keys handed down by data-archiver", initial: TimedCredentials(keys, expiration: expiration, obtained: clock() ),
                clock: clock,
                fetch: {
                    guard let next = try rest.resolveAfterEnvironment() else {
                        throw ToolError("the handed-down keys expire and no other source of the chain has credentials")
                    }
                    return try next.currentTimed()
                })
        }
        if let keys = try environmentKeys("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN") {
            return CredentialProvider(fixed: keys, origin: "AWS_ACCESS_KEY_ID")
        }
        return try resolveAfterEnvironment()
    }

    /// Steps 3 to 6.
    func resolveAfterEnvironment() throws -> CredentialProvider? {
        if let provider = try webIdentity() { return provider }
        if let provider = try sharedFiles() { return provider }
        if let provider = try container() { return provider }
        return try instanceMetadata()
    }

    private func environmentKeys(_ access: String, _ secret: String, _ token: String) throws -> Credentials? {
        switch (value(access), value(secret)) {
        case let (a?, s?): return Credentials(accessKey: a, secretKey: s, sessionToken: value(token))
        case (_?, nil): throw ToolError("\(access) is set but \(secret) is not")
        case (nil, _?): throw ToolError("\(secret) is set but \(access) is not")
        case (nil, nil): return nil
        }
    }

    /// A provider that fetches now (so errors show at once) and again near expiry.
    func fetching(_ origin: String, _ fetch: @escaping @Sendable () throws -> TimedCredentials) throws -> CredentialProvider {
        let provider = CredentialProvider(origin: origin, clock: clock, fetch: fetch)
        _ = try provider.currentTimed()
        return provider
    }

    var sts: STSClient {
        STSClient(endpoint: value("AWS_ENDPOINT_URL_STS") ?? value("AWS_ENDPOINT_URL"),
                  region: value("AWS_REGION") ?? value("AWS_DEFAULT_REGION")
                      ?? CredentialSource.profileRegion(environment: environment, readFile: readFile),
                  clock: clock)
    }

    // MARK: 3. Web identity

    private func webIdentity() throws -> CredentialProvider? {
        guard let tokenFile = value("AWS_WEB_IDENTITY_TOKEN_FILE") else {
            if value("AWS_ROLE_ARN") != nil && value("AWS_PROFILE") == nil {
                throw ToolError("AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not")
            }
            return nil
        }
        guard let role = value("AWS_ROLE_ARN") else { throw ToolError("AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not") }
        return try webIdentityProvider(tokenFile: tokenFile, role: role, session: value("AWS_ROLE_SESSION_NAME"))
    }

    func webIdentityProvider(tokenFile: String, role: String, session: String?) throws -> CredentialProvider {
        let sts = self.sts
        let readFile = self.readFile
        let session = session ?? "pgarchive-\(clock())"
        return try fetching("web identity (\(role))") {
            guard let token = readFile(tokenFile)?.trimmingSpaces(), !token.isEmpty else {
                throw ToolError("cannot read the web identity token file \(tokenFile)")
            }
            return try sts.assumeRoleWithWebIdentity(role: role, session: session, token: token)
        }
    }

    // MARK: 5. Container credentials

    private func container() throws -> CredentialProvider? {
        let url: String
        if let relative = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            url = "http://169.254.170.2" + (relative.hasPrefix("/") ? "" : "/") + relative
        } else if let full = value("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            guard ContainerEndpoint.isAllowed(full) else {
                throw ToolError("AWS_CONTAINER_CREDENTIALS_FULL_URI \"\(full)\" is refused: it must be HTTPS, or HTTP on "
                                + "loopback, 169.254.170.2 or 169.254.170.23")
            }
            url = full
        } else {
            return nil
        }
        let tokenFile = value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        let token = value("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        let readFile = self.readFile
        let clock = self.clock
        return try fetching("container credentials") {
            var authorization = token
            if let tokenFile {
                guard let text = readFile(tokenFile)?.trimmingSpaces(), !text.isEmpty else {
                    throw ToolError("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(tokenFile)")
                }
                authorization = text
            }
            return try ContainerEndpoint.fetch(url: url, authorization: authorization, clock: clock)
        }
    }

    // MARK: 6. Instance metadata

    private func instanceMetadata() throws -> CredentialProvider? {
        if value("AWS_EC2_METADATA_DISABLED")?.lowercased() == "true" { return nil }
        let imds = InstanceMetadata(endpoint: value("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? "http://169.254.169.254",
                                    allowV1: value("AWS_EC2_METADATA_V1_DISABLED")?.lowercased() != "true", clock: clock)
        // Not on EC2 (nothing answers): no credentials, requests go unsigned.
        guard let role = try imds.roleName() else { return nil }
        return try fetching("instance metadata (role \(role))") { try imds.credentials(role: role) }
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String { Substring(self).trimmingSpaces() }
}
