// swift-tools-version: 6.1
// pgarchive: small Unix tools that move PostgreSQL data to S3-compatible storage and back.
//
// Targets are grouped by area, one array each, so work on different areas merges cleanly.
// Executables are lower-case (pg-extract), libraries CamelCase (PGAccess); the convention
// tests find every executable by that rule.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

/// A thin executable: options and one library call.
func tool(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["ToolSupport", argumentParser] + dependencies, swiftSettings: swiftSettings)
}

/// One Swift library per concern.
func library(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .target(name: name, dependencies: dependencies, swiftSettings: swiftSettings)
}

/// A unit or end-to-end test target (Swift Testing).
func tests(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .testTarget(name: name, dependencies: ["TestSupport"] + dependencies, swiftSettings: swiftSettings)
}

// MARK: Foundation: C modules (system libraries, pass-through shims only), tool support, digests.
let foundationTargets: [Target] = [
    .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
    .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
    .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
    library("ToolSupport", [argumentParser]),
    library("Digest", ["CCrypto"]),
    .target(name: "TestSupport", dependencies: ["ToolSupport"], path: "Tests/TestSupport", swiftSettings: swiftSettings),
    tests("ToolSupportTests", ["ToolSupport"]),
    tests("DigestTests", ["Digest"]),
    tests("ConventionTests", []),
    tests("ServicesTests", []),
    // The release files (scripts/package) and the deploy manifests.
    tests("ReleaseTests", []),
]

// MARK: Compression: zcompress.
let compressionTargets: [Target] = [
    library("Codecs", ["ToolSupport", "CZstd", "CLZ4", "CZlib"]),
    tool("zcompress", ["Codecs"]),
    tests("CodecsTests", ["Codecs"]),
]

// MARK: PostgreSQL reading: rowstream, pg-partitions, pg-extract.
let postgresTargets: [Target] = [
    library("RowStream", []),
    library("RowDigest", ["RowStream"]),
    library("PGAccess", ["CLibPQ"]),
    library("SlicePlan", ["ToolSupport"]),
    library("PGToolOptions", ["ToolSupport", "PGAccess", argumentParser]),
    library("PGPlanning", ["SlicePlan", "PGAccess"]),
    library("PGExtraction", ["RowStream", "RowDigest", "SlicePlan", "PGAccess", "ToolSupport"]),
    // retire's PostgreSQL side: lock, digest with pg-extract's code path, remove (docs/retire.md).
    library("PGRetirement", ["PGExtraction", "PGAccess", "RowDigest", "SlicePlan"]),
    tool("pg-partitions", ["PGToolOptions", "PGPlanning", "SlicePlan"]),
    tool("pg-extract", ["PGToolOptions", "PGExtraction", "SlicePlan"]),
    .testTarget(name: "RowStreamTests", dependencies: ["TestSupport", "RowStream"], exclude: ["Vectors"], swiftSettings: swiftSettings),
    tests("RowDigestTests", ["RowDigest", "RowStream"]),
    tests("SlicePlanTests", ["SlicePlan"]),
    tests("PGAccessTests", ["PGAccess", "PGToolOptions"]),
    tests("PGToolsTests", ["RowStream", "SlicePlan"]),
]

// MARK: Formats: rowfmt (JSONL, CSV, Parquet).
let formatTargets: [Target] = [
    library("RowFormats", ["RowStream", "RowDigest", "SlicePlan", "ToolSupport", "Parquet"]),
    tool("rowfmt", ["RowFormats", "RowStream", "Parquet"]),
    tests("RowFormatsTests", ["RowFormats", "RowStream"]),
    library("Parquet", ["CZstd", "CLZ4", "CZlib"]),
    tests("ParquetTests", ["Parquet"]),
    // The writer micro-benchmark (bench/parquet-core), not a user tool.
    .executableTarget(name: "ParquetBench", dependencies: ["Parquet"], path: "bench/parquet-core/ParquetBench", swiftSettings: swiftSettings),
]

// MARK: Object storage: s3put, s3get, the file:// store.
let storageTargets: [Target] = [
    library("ObjectStore", ["CCurl", "Digest", "ToolSupport"]),
    library("StorageOptions", ["ObjectStore", "ToolSupport", argumentParser]),
    tool("s3put", ["ObjectStore", "StorageOptions"]),
    tool("s3get", ["ObjectStore", "StorageOptions"]),
    tests("ObjectStoreTests", ["ObjectStore", "Digest", "ToolSupport"]),
    .testTarget(name: "S3ToolTests", dependencies: ["TestSupport"], exclude: ["helpers"], swiftSettings: swiftSettings),
]

// MARK: Cache and viewer: archive-cache.
let cacheTargets: [Target] = [
    library("ArchiveCache", ["ToolSupport", "Digest", "CSQLite"]),
    library("WebServer", ["Digest", "ToolSupport"]),
    library("CacheViewer", ["ArchiveCache", "WebServer", "ToolSupport"]),
    tool("archive-cache", ["ArchiveCache", "CacheViewer"]),
    tests("ArchiveCacheTests", ["ArchiveCache"]),
    tests("CacheViewerTests", ["ArchiveCache", "CacheViewer", "WebServer"]),
]

// MARK: Loading: pg-load.
let loadTargets: [Target] = [
    library("TypeRules", ["RowStream"]),
    library("PGLoad", ["RowStream", "RowDigest", "PGAccess", "ToolSupport", "TypeRules"]),
    tool("pg-load", ["PGToolOptions", "PGLoad", "RowStream", "RowDigest"]),
    tests("PGLoadTests", ["PGLoad"]),
    tests("TypeRulesTests", ["TypeRules", "RowStream"]),
    // The row digest micro-benchmark (bench/verify), not a user tool.
    .executableTarget(name: "DigestBench", dependencies: ["RowDigest", "RowStream"], path: "bench/digest/DigestBench", swiftSettings: swiftSettings),
]

// MARK: Orchestration: data-archiver.
let orchestratorTargets: [Target] = [
    library("ArchiverConfig", ["ArchiveLayout", "SlicePlan", .product(name: "Yams", package: "Yams")]),
    library("ArchiveLayout", ["SlicePlan", "ToolSupport"]),
    library("RunDisplay", ["SlicePlan", "ToolSupport"]),
    library("Orchestrator", ["ArchiverConfig", "ArchiveLayout", "ArchiveCache", "Digest", "PGAccess", "PGPlanning", "Pipelines", "RunDisplay", "SlicePlan",
                              "ToolSupport", "ObjectStore", "RowStream", "TypeRules", "PGLoad", "PGRetirement"]),
    tool("data-archiver", ["Orchestrator", "ArchiverConfig", "ArchiveCache", "ObjectStore", "Pipelines", "RunDisplay", "SlicePlan"]),
    tests("ArchiveTests", []),
    tests("RunDisplayTests", ["RunDisplay"]),
    tests("ArchiveLayoutTests", ["ArchiveLayout", "SlicePlan"]),
    .target(name: "CSpawn"),
    library("Pipelines", ["ToolSupport", "CSpawn"]),
    tests("PipelinesTests", ["Pipelines"]),
    tests("ArchiverConfigTests", ["ArchiverConfig", "SlicePlan"]),
]

let package = Package(
    name: "pgarchive",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // YAML configuration files (data-archiver --config); ~13 s of a clean debug build.
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: foundationTargets + compressionTargets + postgresTargets + formatTargets + storageTargets
        + cacheTargets + loadTargets + orchestratorTargets
)
