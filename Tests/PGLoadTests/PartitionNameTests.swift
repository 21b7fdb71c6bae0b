import Testing
@testable import PGLoad

@Suite("pg-load partition names")
struct PartitionNameTests {
    @Test("every range's default name is the seed's form")
    func seedNames() {
        let from = "2024-01-01 15:00:00", to = "2024-01-01 16:00:00"
        let expected: [PartitionRange: String] = [.hourly: "t_2024010115", .daily: "t_20240101", .monthly: "t_202401",
                                                  .quarterly: "t_2024Q1", .yearly: "t_2024"]
        for (range, name) in expected {
            #expect(PartitionWindow(template: range.defaultTemplate, table: "t", from: from, to: to).name == name)
        }
    }

    @Test("the quarter follows the month and a template is applied as written")
    func quarterAndTemplate() {
        #expect(PartitionWindow(template: "{table}_{YYYY}Q{Q}", table: "f", from: "2024-11-01 00:00:00", to: "2025-02-01 00:00:00").name == "f_2024Q4")
        #expect(PartitionWindow(template: "{table}_{YYYY}_{MM}", table: "f", from: "2024-03-01 00:00:00", to: "2024-04-01 00:00:00").name == "f_2024_03")
    }

    @Test("a template too coarse for its range is refused")
    func coarseTemplate() {
        #expect(PartitionWindow.validate(template: "{table}_{YYYY}{MM}", range: .daily) != nil)
        #expect(PartitionWindow.validate(template: "{table}_{YYYY}{MM}{DD}", range: .daily) == nil)
    }
}
