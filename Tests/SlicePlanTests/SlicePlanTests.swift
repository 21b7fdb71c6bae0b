import SlicePlan
import Testing

func day(_ y: Int, _ m: Int, _ d: Int) -> Instant { Instant(year: y, month: m, day: d) }

func dailyLeaf(_ y: Int, _ m: Int, _ d: Int) -> Leaf {
    Leaf(schema: "public", relation: "t_\(y)\(m < 10 ? "0" : "")\(m)\(d < 10 ? "0" : "")\(d)",
         window: Window(start: day(y, m, d), end: day(y, m, d).adding(days: 1)), estimatedRows: 10)
}

func request(_ leaves: [Leaf], _ duration: OutputDuration, start: Instant? = nil, end: Instant, column: String? = "ts",
             now: Instant = Instant(year: 2030, month: 1, day: 1)) -> PlanRequest {
    PlanRequest(schema: "public", table: "t", leaves: leaves, duration: duration, rangeStart: start, rangeEnd: end,
                dateColumn: column, now: now)
}

@Suite("calendar")
struct CalendarTests {
    @Test("ISO weeks start on Monday and belong to the year of their Thursday")
    func isoWeeks() {
        #expect(OutputDuration.weekly.label(windowStart: day(2024, 1, 1)) == "2024-W01")
        #expect(OutputDuration.weekly.window(containing: day(2024, 2, 1)).start == day(2024, 1, 29))
        #expect(OutputDuration.weekly.label(windowStart: day(2024, 12, 30)) == "2025-W01")
        #expect(OutputDuration.weekly.label(windowStart: OutputDuration.weekly.window(containing: day(2021, 1, 3)).start) == "2020-W53")
    }

    @Test("monthly windows follow the calendar: January 31 is followed by February")
    func months() {
        let jan = OutputDuration.monthly.window(containing: day(2024, 1, 31))
        #expect(jan == Window(start: day(2024, 1, 1), end: day(2024, 2, 1)))
        #expect(OutputDuration.monthly.next(after: day(2024, 12, 1)) == day(2025, 1, 1))
        #expect(OutputDuration.monthly.windows(overlapping: Window(start: day(2024, 1, 15), end: day(2024, 3, 11))).count == 3)
    }

    @Test("labels of every duration")
    func labels() {
        let t = Instant(year: 2024, month: 1, day: 5, hour: 13)
        #expect(OutputDuration.hourly.label(windowStart: t) == "2024-01-05-13")
        #expect(OutputDuration.daily.label(windowStart: t) == "2024-01-05")
        #expect(OutputDuration.monthly.label(windowStart: t) == "2024-01")
        #expect(OutputDuration.yearly.label(windowStart: t) == "2024")
    }

    @Test("instants parse and print as RFC 3339 UTC")
    func instants() {
        #expect(Instant.parse("2024-01-05")?.description == "2024-01-05T00:00:00Z")
        #expect(Instant.parse("2024-01-05 10:00:00+02")?.description == "2024-01-05T08:00:00Z")
        #expect(Instant.parse("2024-01-05T10:00:00.25-01:30")?.description == "2024-01-05T11:30:00.25Z")
        #expect(Instant.parse("2024-01-05 10:00:00")?.description == "2024-01-05T10:00:00Z")
        #expect(Instant.parse("1969-12-31T23:59:59Z")?.description == "1969-12-31T23:59:59Z")
        #expect(Instant.parse("2024-02-30") == nil)
        #expect(Instant.parse("2024-01-05; DROP TABLE x") == nil)
        #expect(day(2024, 1, 5).postgresText == "2024-01-05 00:00:00+00")
    }
}

@Suite("partition name patterns")
struct NamePatternTests {
    @Test("each naming pattern gives its day or month")
    func patterns() {
        let jan5 = Window(start: day(2024, 1, 5), end: day(2024, 1, 6))
        let jan = Window(start: day(2024, 1, 1), end: day(2024, 2, 1))
        #expect(NamePatterns.window(relation: "t_20240105", base: "t") == jan5)
        #expect(NamePatterns.window(relation: "t_p20240105", base: "t") == jan5)
        #expect(NamePatterns.window(relation: "t_2024_01_05", base: "t") == jan5)
        #expect(NamePatterns.window(relation: "t_2024_01", base: "t") == jan)
        #expect(NamePatterns.window(relation: "t_202401", base: "t") == jan)
    }

    @Test("names that are not dates of the base table do not match")
    func nonMatches() {
        #expect(NamePatterns.window(relation: "t_20241305", base: "t") == nil)
        #expect(NamePatterns.window(relation: "t_archive", base: "t") == nil)
        #expect(NamePatterns.window(relation: "other_20240105", base: "t") == nil)
        #expect(NamePatterns.window(relation: "t_x20240105", base: "t") == nil)
        #expect(NamePatterns.window(relation: "t_2024-01", base: "t") == nil)
    }
}

@Suite("planner")
struct PlannerTests {
    @Test("daily partitions grouped into monthly slices: one slice per month, unfiltered sources")
    func grouping() {
        let leaves = (1...31).map { dailyLeaf(2024, 1, $0) } + (1...3).map { dailyLeaf(2024, 2, $0) }
        let slices = Planner.plan(request(leaves, .monthly, end: day(2024, 3, 1)))
        #expect(slices.map(\.slice.stem) == ["t-2024-01", "t-2024-02"])
        #expect(slices[0].slice.sources.count == 31)
        #expect(slices[0].slice.sources.allSatisfy { $0.column == nil })
        #expect(slices[0].slice.sources.first?.relation == "t_20240101")
        #expect(slices[1].slice.sources.count == 3)
    }

    @Test("a monthly partition split into daily slices filters each source by its day")
    func splitting() {
        let month = Leaf(schema: "public", relation: "t_2024_02", window: Window(start: day(2024, 2, 1), end: day(2024, 3, 1)))
        let slices = Planner.plan(request([month], .daily, end: day(2024, 4, 1)))
        #expect(slices.count == 29)
        #expect(Set(slices.map(\.slice.stem)).count == 29)
        let source = slices[28].slice.sources[0]
        #expect(source.column == "ts")
        #expect(source.from == "2024-02-29T00:00:00Z")
        #expect(source.to == "2024-03-01T00:00:00Z")
        #expect(slices.allSatisfy { $0.slice.error == nil })
    }

    @Test("splitting without a date column is an error on the slice naming --date-column")
    func splittingNeedsColumn() {
        let month = Leaf(schema: "public", relation: "t_2024_02", window: Window(start: day(2024, 2, 1), end: day(2024, 3, 1)))
        let slices = Planner.plan(request([month], .daily, end: day(2024, 4, 1), column: nil))
        #expect(slices.allSatisfy { $0.slice.error?.contains("--date-column") == true })
    }

    @Test("a 15 Jan to 10 Mar monthly range covers all of it in three windows, the outer two partial")
    func clampedRange() {
        let leaves = [Leaf(schema: "public", relation: "t", window: Window(start: day(2023, 1, 1), end: day(2025, 1, 1)), alwaysFilter: true)]
        let slices = Planner.plan(request(leaves, .monthly, start: day(2024, 1, 15), end: day(2024, 3, 11)))
        #expect(slices.map(\.slice.start) == ["2024-01-15T00:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"])
        #expect(slices.map(\.slice.end) == ["2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z", "2024-03-11T00:00:00Z"])
        #expect(slices.map(\.slice.partial) == [true, false, true])
        #expect(slices[0].slice.parts == TemplateParts(YYYY: "2024", MM: "01", DD: "01", HH: "00"))
        #expect(slices[0].slice.sources[0].from == "2024-01-15T00:00:00Z")
    }

    @Test("weekly slices across a month end get one stem, and template parts from the Monday")
    func weeklyAcrossMonths() {
        let leaves = (29...31).map { dailyLeaf(2024, 1, $0) } + (1...4).map { dailyLeaf(2024, 2, $0) }
        let slices = Planner.plan(request(leaves, .weekly, start: day(2024, 1, 31), end: day(2024, 3, 1)))
        #expect(slices.map(\.slice.stem) == ["t-2024-W05"])
        #expect(slices[0].slice.sources.map(\.relation) == ["t_20240131", "t_20240201", "t_20240202", "t_20240203", "t_20240204"])
        #expect(slices[0].slice.parts.DD == "29")
        #expect(slices[0].slice.partial)
    }

    @Test("partitions outside the range are left out")
    func outsideRange() {
        let leaves = [dailyLeaf(2023, 12, 31), dailyLeaf(2024, 1, 1), dailyLeaf(2024, 1, 2)]
        let slices = Planner.plan(request(leaves, .daily, start: day(2024, 1, 1), end: day(2024, 1, 2)))
        #expect(slices.map(\.slice.stem) == ["t-2024-01-01"])
    }

    @Test("a window containing now is open")
    func openWindow() {
        let slices = Planner.plan(request([dailyLeaf(2024, 1, 1), dailyLeaf(2024, 1, 2)], .daily, end: day(2024, 1, 3),
                                          now: Instant(year: 2024, month: 1, day: 2, hour: 5)))
        #expect(slices.map(\.slice.open) == [false, true])
    }

    @Test("an unreadable partition marks the slices that need it, the others stay clean")
    func errorLeaf() {
        var bad = dailyLeaf(2024, 1, 2)
        bad.error = "permission denied for table public.t_20240102"
        let slices = Planner.plan(request([dailyLeaf(2024, 1, 1), bad, dailyLeaf(2024, 1, 9)], .weekly, end: day(2024, 2, 1)))
        #expect(slices.count == 2)
        #expect(slices[0].slice.error == "permission denied for table public.t_20240102")
        #expect(slices[1].slice.error == nil)
    }

    @Test("a DEFAULT-like leaf is filtered in every slice and shares windows with partitions")
    func defaultLeaf() {
        let def = Leaf(schema: "public", relation: "t_default", window: Window(start: day(2024, 1, 1), end: day(2024, 1, 4)), alwaysFilter: true)
        let slices = Planner.plan(request([dailyLeaf(2024, 1, 1), def], .daily, end: day(2024, 2, 1)))
        #expect(slices.map(\.slice.stem) == ["t-2024-01-01", "t-2024-01-02", "t-2024-01-03"])
        #expect(slices[0].slice.sources.map(\.relation) == ["t_20240101", "t_default"])
        #expect(slices[0].slice.sources[0].column == nil)
        #expect(slices[0].slice.sources[1].column == "ts")
    }

    @Test("plan lines round-trip through JSON with structured filters")
    func jsonRoundTrip() throws {
        let slice = Planner.plan(request([dailyLeaf(2024, 1, 1)], .hourly, end: day(2024, 1, 2)))[5].slice
        let line = try slice.jsonLine()
        #expect(!line.contains("\n"))
        #expect(try Slice.parse(line) == slice)
        #expect(line.contains("\"from\":\"2024-01-01T05:00:00Z\""))
        #expect(throws: PlanError.self) { try Slice.parse("{\"schema\":\"public\"}") }
        #expect(throws: PlanError.self) { try Slice.parse("not json") }
    }
}

@Suite("unindexed plan lines")
struct UnindexedLineTests {
    @Test("the warning names relation, column, windows and rows, and its CREATE INDEX quotes only names that need it")
    func message() throws {
        let plain = UnindexedScan(schema: "public", table: "ticks", source: .init(schema: "public", relation: "ticks"), column: "at",
                                  windows: 100_008, estimatedRows: 100_008, diskBytes: 5_000_000)
        #expect(plain.message == "public.ticks has no index on at: each of the 100008 slices reading it scans all of it (about 100008 rows); "
            + "CREATE INDEX ON public.ticks (at) (or USING brin) lets each read only its window")
        let odd = UnindexedScan(schema: "Sales", table: "t", source: .init(schema: "Sales", relation: "t \"x\"", only: true), column: "order",
                                windows: 30, estimatedRows: nil, diskBytes: 81_920)
        #expect(odd.message.hasSuffix("(81920 bytes on disk, never analysed); CREATE INDEX ON \"Sales\".\"t \"\"x\"\"\" (\"order\") "
            + "(or USING brin) lets each read only its window"), "\(odd.message)")
        let line = try PlanLine.unindexed(odd).jsonLine()
        #expect(line.contains("\"kind\":\"unindexed\"") && line.contains("\"disk_bytes\":81920") && !line.contains("estimated_rows"))
        #expect(try PlanLine.parse(line) == .unindexed(odd))
        #expect(throws: PlanError.self) { try Slice.parse(line) }
    }
}
