import Foundation
import Testing
import TestSupport

/// scripts/package on the suite's release build: the tarball's tools run with the Swift
/// toolchain's library folder out of reach, and the .deb names its libraries.
@Suite("release files")
struct PackageTests {
    /// One packaging for every test here (it strips and compresses nine binaries).
    static let packaged: Result<(dist: TemporaryDirectory, files: [String]), any Error> = Result {
        let dist = try TemporaryDirectory()
        let result = try run(Package.root.appendingPathComponent("scripts/package").path,
                             ["--bin", Package.binDirectory.path, "--output", dist.url.path, "--fast"])
        guard result.status == 0 else { throw TestFailure("scripts/package failed (\(result.status)): \(result.err)") }
        return (dist, result.out.split(separator: "\n").map(String.init))
    }

    static func version() throws -> String {
        let text = try String(contentsOf: Package.root.appendingPathComponent("Sources/ToolSupport/Tool.swift"), encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.contains("public static let version = ") })
        return String(try #require(line.split(separator: "\"").dropFirst().first))
    }

    @Test("the tarball holds the nine tools, their pages, README, LICENSE, notices and checksums")
    func tarballLayout() throws {
        let (dist, files) = try Self.packaged.get()
        let version = try Self.version()
        let tarball = try #require(files.first { $0.hasSuffix(".tar.gz") })
        #expect(tarball.hasSuffix("/pgarchive-\(version)-linux-\(try shell("uname -m").out.trimmingCharacters(in: .whitespacesAndNewlines)).tar.gz"))
        #expect(try shell("cd '\(dist.url.path)' && sha256sum -c SHA256SUMS").status == 0)
        let prefix = try TemporaryDirectory()
        #expect(try run("tar", ["-xzf", tarball, "-C", prefix.url.path]).status == 0)
        let root = prefix.url.appendingPathComponent(URL(fileURLWithPath: tarball).lastPathComponent.replacingOccurrences(of: ".tar.gz", with: "")).path
        let tools = ["archive-cache", "data-archiver", "pg-extract", "pg-load", "pg-partitions", "rowfmt", "s3get", "s3put", "zcompress"]
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/bin").sorted() == tools)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/share/man/man1").sorted() == tools.map { "\($0).1" })
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: root))
                == ["bin", "share", "README.md", "LICENSE", "THIRD-PARTY-NOTICES", "SHA256SUMS"])
        #expect(try shell("cd '\(root)' && sha256sum --quiet -c SHA256SUMS").status == 0)
        let notices = try String(contentsOfFile: root + "/THIRD-PARTY-NOTICES", encoding: .utf8)
        for name in ["swift-argument-parser", "Apache License", "Yams", "JP Simard", "LibYAML", "Kirill Simonov"] {
            #expect(notices.contains(name), "THIRD-PARTY-NOTICES lacks \(name)")
        }
        let reported = try run(root + "/bin/s3put", ["--version"]).out
        #expect(reported.contains(version))
    }

    @Test("the unpacked tools run with the toolchain's libraries hidden: round trips and an archive to file://")
    func tarballRunsWithoutToolchain() throws {
        let pg = try Services.requirePostgres()
        let (_, files) = try Self.packaged.get()
        let tarball = try #require(files.first { $0.hasSuffix(".tar.gz") })
        let prefix = try TemporaryDirectory()
        #expect(try run("tar", ["-xzf", tarball, "-C", prefix.url.path, "--strip-components=1"]).status == 0)
        let database = try ScratchDatabase(pg, prefix: "install")
        let check = Package.root.appendingPathComponent("scripts/install-check").path
        // The toolchain's lib folder (beside the swift driver's bin) is hidden under an empty
        // tmpfs in a private mount namespace when this runs as root; ldd/readelf checks always run.
        let script = """
            set -euo pipefail
            toolchain_lib=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/lib
            export PATH='\(pg.binDirectory)':/usr/bin:/bin
            unset LD_LIBRARY_PATH PGARCHIVE_BIN
            if [ "$(id -u)" = 0 ] && unshare --mount true 2>/dev/null; then
              exec unshare --mount bash -c 'mount -t tmpfs tmpfs "$1" && [ -z "$(ls -A "$1")" ] && echo "hidden: $1" && exec "$2" "$3"' \
                _ "$toolchain_lib" '\(check)' '\(prefix.url.path)/bin'
            fi
            exec '\(check)' '\(prefix.url.path)/bin'
            """
        let result = try shell(script, environment: database.environment)
        #expect(result.status == 0, "\(result.out)\(result.err)")
        #expect(result.out.contains("archived install_check_"), "\(result.out)")
        // Where a private mount namespace can be made (root with CAP_SYS_ADMIN, as on CI), the
        // toolchain must have been hidden; elsewhere readelf/ldd are the whole check.
        if getuid() == 0, try shell("unshare --mount true").status == 0 {
            #expect(result.out.contains("hidden: "), "the toolchain was not hidden: \(result.err)")
        }
    }

    @Test("the .deb installs into /usr/bin and the man path and depends on its libraries and postgresql-client")
    func debianPackage() throws {
        let (_, files) = try Self.packaged.get()
        let deb = try #require(files.first { $0.hasSuffix(".deb") })
        #expect(URL(fileURLWithPath: deb).lastPathComponent == "pgarchive_\(try Self.version())-1_\(try shell("dpkg --print-architecture").out.trimmingCharacters(in: .whitespacesAndNewlines)).deb")
        let depends = try run("dpkg-deb", ["-f", deb, "Depends"]).out
        for library in ["libc6", "libpq5", "libzstd1", "liblz4-1", "libcurl4", "libssl3", "zlib1g", "postgresql-client", "ca-certificates"] {
            #expect(depends.contains(library), "Depends lacks \(library): \(depends)")
        }
        #expect(!depends.lowercased().contains("swift"))
        let contents = try run("dpkg-deb", ["-c", deb]).out
        for path in ["./usr/bin/data-archiver", "./usr/bin/pg-load", "./usr/bin/s3put", "./usr/share/man/man1/data-archiver.1.gz",
                     "./usr/share/man/man1/zcompress.1.gz", "./usr/share/doc/pgarchive/copyright"] {
            #expect(contents.contains(path), "the .deb lacks \(path)")
        }
        #expect(contents.split(separator: "\n").allSatisfy { $0.contains("root/root") }, "files not owned by root")
    }
}
