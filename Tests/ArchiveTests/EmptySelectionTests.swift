import Foundation
import Testing
import TestSupport

/// A cron job with a wrong prefix, table or range must not look green.
@Suite("verify and retire with nothing selected", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct EmptySelectionTests {
    @Test("verify of a prefix, table or range with nothing in it: one line naming table, destination and range, exit 1")
    func verifyNothing() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 20)
        var a = FileStoreArchive(fixture: f, store: try TemporaryDirectory())
        #expect(try a.run("archive").status == 0)
        #expect(try a.run("verify").status == 0)

        a.extraFlags = ["--path-template", "wrong/{table}/{YYYY}/{MM}"]
        let wrongPrefix = try a.run("verify")
        #expect(wrongPrefix.status == 1, "\(wrongPrefix.err)")
        let line = "data-archiver: error: nothing to verify: no object, manifest or cache entry of table flights under "
            + "\(a.endpoint)/\(f.bucket)/wrong/flights/ from 2024-01-01 to 2024-01-31 (check --table, --path-template, --s3-bucket and the dates)"
        #expect(wrongPrefix.err.split(separator: "\n").contains { $0 == line }, "\(wrongPrefix.err)")
        #expect(wrongPrefix.out.isEmpty, "\(wrongPrefix.out)")

        a.extraFlags = ["--start-date", "2023-03-01", "--end-date", "2023-03-31"]
        let wrongRange = try a.run("verify", ["--deep"])
        #expect(wrongRange.status == 1)
        #expect(wrongRange.err.contains("nothing to verify") && wrongRange.err.contains("from 2023-03-01 to 2023-03-31"), "\(wrongRange.err)")

        a.extraFlags = ["--table", "flight"]
        let wrongTable = try a.run("verify")
        #expect(wrongTable.status == 1)
        #expect(wrongTable.err.contains("nothing to verify") && wrongTable.err.contains("of table flight under"), "\(wrongTable.err)")
    }

    @Test("retire of a range with no window is an error (exit 1, named); a range whose windows are all kept is fine")
    func retireNothing() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 20)
        var a = FileStoreArchive(fixture: f, store: try TemporaryDirectory())
        #expect(try a.run("archive").status == 0)

        a.extraFlags = ["--start-date", "2023-03-01", "--end-date", "2023-03-31"]
        let none = try a.run("retire", ["--dry-run"])
        #expect(none.status == 1, "\(none.out)\(none.err)")
        #expect(none.err.contains("data-archiver: error: nothing to retire: no window (object, manifest, cache entry or planned partition) of table flights under ")
                && none.err.contains("from 2023-03-01 to 2023-03-31"), "\(none.err)")

        a.extraFlags = []
        let kept = try a.run("retire", ["--older-than", "36500d"])
        #expect(kept.status == 0, "\(kept.out)\(kept.err)")
        #expect(FileStoreArchive.retireStates(kept.out) == ["flights-2024-01-01": "kept", "flights-2024-01-02": "kept"], "\(kept.out)")
        #expect(try a.value("SELECT count(*) FROM flights") == "40")
    }
}
