import Testing
@testable import ArchiveLayout
import SlicePlan

@Suite("archive layout")
struct ArchiveLayoutTests {
    @Test("templates render with the window start and lose stray slashes")
    func render() {
        #expect(ArchiveLayout.render(template: "/archives/{table}/{YYYY}/{MM}/", table: "flights", year: "2024", month: "01", day: "05", hour: "00")
                == "archives/flights/2024/01")
        #expect(ArchiveLayout.render(template: "data/{table}/year={YYYY}/month={MM}", table: "t", year: "2024", month: "02", day: "", hour: "")
                == "data/t/year=2024/month=02")
    }

    @Test("file names: codec extension for JSONL and CSV, none for Parquet")
    func fileNames() {
        #expect(ArchiveLayout.fileExtension(format: "jsonl", codecExtension: ".zst") == ".jsonl.zst")
        #expect(ArchiveLayout.fileExtension(format: "csv", codecExtension: "") == ".csv")
        #expect(ArchiveLayout.fileExtension(format: "parquet", codecExtension: ".lz4") == ".parquet")
    }

    @Test("the fixed prefix ends before the first date placeholder, at a slash")
    func fixedPrefix() {
        #expect(ArchiveLayout.fixedPrefix(template: "archives/{table}/{YYYY}/{MM}", table: "flights") == "archives/flights/")
        #expect(ArchiveLayout.fixedPrefix(template: "data/{table}/year={YYYY}", table: "f") == "data/f/")
        #expect(ArchiveLayout.fixedPrefix(template: "{table}", table: "f") == "f/")
        #expect(ArchiveLayout.fixedPrefix(template: "{table}-{YYYY}", table: "f") == "")
        #expect(ArchiveLayout.schemaKey(template: "a/{table}/{YYYY}", table: "f", hash: "abc") == "a/f/_schema/f-abc.json")
    }

    @Test("every label form parses back to its window", arguments: [
        ("2024-01-05-13", "hourly", "2024-01-05T13:00:00Z", "2024-01-05T14:00:00Z"),
        ("2024-12-31-23", "hourly", "2024-12-31T23:00:00Z", "2025-01-01T00:00:00Z"),
        ("2024-02-29", "daily", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"),
        ("2024-W05", "weekly", "2024-01-29T00:00:00Z", "2024-02-05T00:00:00Z"),
        ("2021-W01", "weekly", "2021-01-04T00:00:00Z", "2021-01-11T00:00:00Z"),
        ("2020-W53", "weekly", "2020-12-28T00:00:00Z", "2021-01-04T00:00:00Z"),
        ("2024-12", "monthly", "2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        ("2024", "yearly", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
    ])
    func labels(label: String, duration: String, start: String, end: String) {
        let w = WindowLabel(label)
        #expect(w?.duration.rawValue == duration && w?.start == start && w?.end == end, "\(String(describing: w))")
    }

    @Test("impossible labels are refused", arguments: ["2023-02-29", "2024-13", "2021-W53", "2024-01-05-24", "24-01", "2024-1-05", "x"])
    func badLabels(label: String) {
        #expect(WindowLabel(label) == nil)
    }

    @Test("archived names parse to table, label, format and codec; others do not")
    func names() {
        let name = ArchivedFileName("flights-2024-01-05.jsonl.zst", table: "flights")
        #expect(name?.table == "flights" && name?.label == "2024-01-05" && name?.format == "jsonl" && name?.codec == "zstd")
        #expect(ArchivedFileName("flights-2024-W05.parquet", table: "flights")?.codec == "none")
        #expect(ArchivedFileName("flights-2024-01.csv.gz", table: "flights")?.codec == "gzip")
        #expect(ArchivedFileName("flights-2024-01.parquet.lz4", table: "flights")?.codec == "lz4")
        #expect(ArchivedFileName("flights_old-2024-01.csv", table: "flights") == nil)
        #expect(ArchivedFileName("flights-2024-01.txt", table: "flights") == nil)
    }
}
