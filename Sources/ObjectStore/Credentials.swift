import ToolSupport

/// Where S3 credentials come from, in order: `ARCHIVE_S3_ACCESS_KEY`/`ARCHIVE_S3_SECRET_KEY`
/// (`ARCHIVE_S3_SESSION_TOKEN`), then `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
/// (`AWS_SESSION_TOKEN`), then the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`,
/// else `~/.aws/credentials`, profile `AWS_PROFILE` or `default`). Never the command line.
public enum CredentialSource {
    /// The environment variables `resolve` looks at.
    public static let variableNames = [
        "ARCHIVE_S3_ACCESS_KEY", "ARCHIVE_S3_SECRET_KEY", "ARCHIVE_S3_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "HOME",
    ]

    /// Credentials from `environment` (values the caller read) or the credentials file;
    /// nil when there are none at all (requests then go unsigned).
    public static func resolve(environment: [String: String], readFile: (String) -> String?) throws -> Credentials? {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        for (access, secret, token) in [("ARCHIVE_S3_ACCESS_KEY", "ARCHIVE_S3_SECRET_KEY", "ARCHIVE_S3_SESSION_TOKEN"),
                                        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")] {
            switch (value(access), value(secret)) {
            case let (a?, s?): return Credentials(accessKey: a, secretKey: s, sessionToken: value(token))
            case (_?, nil): throw ToolError("\(access) is set but \(secret) is not")
            case (nil, _?): throw ToolError("\(secret) is set but \(access) is not")
            case (nil, nil): continue
            }
        }
        let explicitProfile = value("AWS_PROFILE")
        let profile = explicitProfile ?? "default"
        guard let path = value("AWS_SHARED_CREDENTIALS_FILE") ?? value("HOME").map({ "\($0)/.aws/credentials" }),
              let text = readFile(path) else {
            if let explicitProfile { throw ToolError("AWS_PROFILE is \"\(explicitProfile)\" but there is no credentials file") }
            return nil
        }
        let sections = parseINI(text)
        guard let section = sections[profile] else {
            if explicitProfile != nil { throw ToolError("profile \"\(profile)\" not found in \(path)") }
            return nil
        }
        guard let access = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] else {
            throw ToolError("profile \"\(profile)\" in \(path) lacks aws_access_key_id or aws_secret_access_key")
        }
        return Credentials(accessKey: access, secretKey: secret, sessionToken: section["aws_session_token"])
    }

    /// Sections of an INI file: `[name]` headers, `key = value` lines, `#`/`;` comments.
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

extension StringProtocol {
    func trimmingSpaces() -> String { Substring(self).trimmingSpaces() }
}
