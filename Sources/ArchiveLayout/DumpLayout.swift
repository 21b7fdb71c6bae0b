/// Where `dump` and `dump-hybrid` objects live: the one place for their names (the original's
/// names; man/data-archiver.1 describes them).
public enum DumpLayout {
    /// What a whole dump holds, and the suffix its name carries.
    public enum Part: String, Sendable {
        case all = "", schema = "-schema", data = "-data"
    }

    /// `YYYYMMDD-HHMMSS` of a UTC time given as (year, month, day, hour, minute, second).
    public static func stamp(_ t: (Int, Int, Int, Int, Int, Int)) -> String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(t.0)\(two(t.1))\(two(t.2))-\(two(t.3))\(two(t.4))\(two(t.5))"
    }

    /// A whole dump: the template rendered with `name` and the run's UTC date, then
    /// `<name>[-schema|-data]-YYYYMMDD-HHMMSS.dump` (name = the table, or the database).
    public static func wholeKey(template: String, name: String, part: Part, time: (Int, Int, Int, Int, Int, Int)) -> String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let prefix = ArchiveLayout.render(template: template, table: name, year: String(time.0), month: two(time.1),
                                          day: two(time.2), hour: two(time.3))
        return ArchiveLayout.key(prefix: prefix, fileName: "\(name)\(part.rawValue)-\(stamp(time)).dump")
    }

    /// The schema of a date-windowed table: the template without its date placeholders, then
    /// `schema.dump` (the template names the table) or `<table>-schema.dump`.
    public static func schemaKey(template: String, table: String) -> String {
        var cut = template
        for placeholder in ArchiveLayout.datePlaceholders { cut = cut.replacing(placeholder, with: "") }
        let prefix = ArchiveLayout.render(template: cut, table: table, year: "", month: "", day: "", hour: "")
        return ArchiveLayout.key(prefix: prefix, fileName: template.contains("{table}") ? "schema.dump" : "\(table)-schema.dump")
    }

    /// One window: the template rendered with the window's calendar start, then `<table>-<label>.dump`.
    public static func windowKey(template: String, table: String, label: String, year: String, month: String, day: String,
                                 hour: String) -> String {
        let prefix = ArchiveLayout.render(template: template, table: table, year: year, month: month, day: day, hour: hour)
        return ArchiveLayout.key(prefix: prefix, fileName: "\(table)-\(label).dump")
    }
}
