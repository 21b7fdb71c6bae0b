import ArchiverConfig
import FoundationEssentials
import ObjectStore
import Pipelines
import RunDisplay

/// data-archiver's S3 credentials: the chain (man/s3put.1, CREDENTIALS) resolved once per run,
/// and handed to each s3put/s3get child as temporary keys in its environment.
///
/// A child gets `ARCHIVE_S3_ACCESS_KEY`, `ARCHIVE_S3_SECRET_KEY`, `ARCHIVE_S3_SESSION_TOKEN`
/// and, for keys that expire, `ARCHIVE_S3_CREDENTIALS_EXPIRATION`: it signs with them and, should
/// it still run shortly before that time (a long multipart upload), resolves the rest of the
/// chain itself from the variables it inherited (web identity token file, profile, container
/// endpoint, instance metadata) — no channel back to the parent. The parent refreshes its own
/// keys before handing them to a new child, so every child starts with at least five minutes.
public enum StoreCredentials {
    /// The run's provider; nil for a `file://` store, for keys given by flag or YAML (passed as
    /// before), or when the chain has no credentials (requests go unsigned).
    public static func resolve(config: ArchiverConfiguration, environment: [String: String]) throws -> CredentialProvider? {
        if let endpoint = config.s3Endpoint, endpoint.lowercased().hasPrefix("file:") { return nil }
        if config.s3AccessKey != nil { return nil }
        return try CredentialSource.resolve(environment: environment, readFile: readTextFile)
    }

    /// The variables that hand `provider`'s current keys to a child (empty when a refresh failed
    /// and nothing valid is left: the child then resolves the chain and reports the error).
    static func variables(_ provider: CredentialProvider?) -> [String: String] {
        guard let provider, let timed = try? provider.currentTimed() else { return [:] }
        var values = ["ARCHIVE_S3_ACCESS_KEY": timed.credentials.accessKey, "ARCHIVE_S3_SECRET_KEY": timed.credentials.secretKey]
        if let token = timed.credentials.sessionToken { values["ARCHIVE_S3_SESSION_TOKEN"] = token }
        if let expiration = timed.expiration { values["ARCHIVE_S3_CREDENTIALS_EXPIRATION"] = formatTimestamp(expiration) }
        return values
    }

    /// The secrets among them, to mask in text shown to a person.
    static func secrets(_ provider: CredentialProvider?) -> [String] {
        guard let provider, let keys = try? provider.current() else { return [] }
        return [keys.secretKey, keys.sessionToken].compactMap { $0 }
    }
}

extension ChildInvocation {
    /// `--s3-region auto` on an S3 store: asks the bucket's region once per run (`s3get
    /// --bucket-region`, one HeadBucket whose answer carries `x-amz-bucket-region`) and hands it
    /// to every child, so no child asks again. A store that does not say (S3-compatible ones)
    /// means us-east-1, as before; so does a failed question (a dead endpoint fails the run
    /// where it is next used, without every child asking again first).
    public mutating func resolveBucketRegion(display: RunDisplay) {
        guard config.s3Region == "auto", config.s3Bucket != nil,
              !(config.s3Endpoint?.lowercased().hasPrefix("file:") ?? false) else { return }
        struct Answer: Decodable { var region: String }
        let captured = try? capture("s3get", storeArguments + ["--bucket-region", "--max-attempts", "3"])
        guard let captured, captured.termination.succeeded, let line = captured.lines.last,
              let answer = try? JSONDecoder().decode(Answer.self, from: Data(line.utf8)) else {
            bucketRegion = "us-east-1"
            display.log(.warn, "could not find the bucket's region (--s3-region auto): signing for us-east-1",
                        [("bucket", config.s3Bucket ?? ""), ("error", captured.map { mask($0.failure("s3get")) } ?? "s3get did not run")])
            return
        }
        bucketRegion = answer.region
        display.log(.info, "bucket region", [("bucket", config.s3Bucket ?? ""), ("region", answer.region)])
    }
}
