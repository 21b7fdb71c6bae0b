import Foundation
import Testing
import TestSupport

@Suite("restore checks a Parquet file's footer schema against its sidecar", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct ParquetSidecarTests {
    @Test("a Parquet object whose pgarchive.schema footer differs from its sidecar is refused, naming the difference; the rest restore")
    func footerDiffersFromSidecar() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 50)
        #expect(try f.archive(["--output-format", "parquet"]).status == 0)
        let dir = try TemporaryDirectory()
        let key = "archives/flights/2024/01/flights-2024-01-01.parquet"
        let metadata = try f.metadata(key)
        #expect(metadata["pgarchive-schema"] != nil)
        // The footer's JSON names another table: same length, so the file stays valid Parquet.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: try f.download(key, into: dir)))
        let from = Data(#"{"name":"flights","schema":"public"}"#.utf8), to = Data(#"{"name":"fl1ghts","schema":"public"}"#.utf8)
        let found = try #require(bytes.range(of: from))
        bytes.replaceSubrange(found, with: to)
        try bytes.write(to: URL(fileURLWithPath: dir.path("edited.parquet")))
        try f.put(key, file: dir.path("edited.parquet"), metadata: metadata)
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let restored = try f.restore(into: target, [])
        #expect(restored.status == 1)
        #expect(restored.err.contains("1 restored, 1 failed"), "\(restored.err)")
        let failure = restored.err.split(separator: "\n").first { $0.contains("failed: ") && $0.contains(key) }
        #expect(failure?.contains("footer key differs from the schema file") == true, "\(restored.err)")
        #expect(failure?.contains("table public.fl1ghts where the schema file has public.flights") == true, "\(restored.err)")
        #expect(try f.sql("SELECT count(*), min(departure)::date FROM flights", in: target) == "50|2024-01-02")
    }
}
