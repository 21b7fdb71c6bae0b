import Foundation
import Testing
import TestSupport

@Suite("data-archiver archive to Parquet with values Parquet cannot hold", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct ParquetSpecialValuesTests {
    @Test("NaN in numeric(p,s) fails the slice by default, naming the column, the row and --special-values-as-text; nothing is written")
    func refusedByDefault() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10)
        try f.createTypedTable()
        // ±infinity dates are DuckDB's sentinels in Parquet now; NaN in a DECIMAL has no Parquet form.
        try f.pg.psql("UPDATE typed SET n2 = 'NaN' WHERE id = 3", database: f.database)
        let flags = f.flags(table: "typed") + ["--date-column", "at"]
        let refused = try f.archive(["--output-format", "parquet"], flags: flags)
        #expect(refused.status == 1)
        #expect(refused.err.contains("rowfmt"), "the failed stage is named: \(refused.err)")
        #expect(refused.err.contains("--special-values-as-text"), "\(refused.err)")
        #expect(refused.err.contains("typed-2024-01-01"), "\(refused.err)")
        #expect(try f.objects().keys.filter { !$0.contains("/_schema/") && !$0.contains("/_manifest/") }.isEmpty)

        let accepted = try f.archive(["--output-format", "parquet"], flags: flags, env: ["ARCHIVE_SPECIAL_VALUES_AS_TEXT": "true"])
        #expect(accepted.status == 0, "\(accepted.err)")
        #expect(try f.objects().keys.contains("archives/typed/2024/01/typed-2024-01-01.parquet"))
    }
}
