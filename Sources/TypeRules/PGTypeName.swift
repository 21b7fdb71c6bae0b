/// A PostgreSQL type as `format_type()` prints it, taken apart far enough to compare two of them
/// (docs/types.md, "Restoring into a different type").
public struct PGTypeName: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The families whose values can move between members without a change of text.
    public enum Family: Equatable, Hashable, Sendable {
        case smallint, integer, bigint, numeric
        case varchar, bpchar, text
        case timestamp, timestamptz, time, timetz
        /// `interval`, with its field restriction (`year to month`) when there is one.
        case interval(fields: String?)
        case bit, varbit
        case json, jsonb
        case real, double
        /// Anything else (enums, uuid, ranges, composites, domains, …): equal names only.
        case other(String)
    }

    /// The element type's family.
    public var family: Family
    /// The modifiers in parentheses: `numeric(10,2)` → [10, 2]; empty when unconstrained.
    public var modifiers: [Int]
    /// Array dimensions written as `[]` (format_type writes one pair for any array).
    public var arrayDepth: Int
    /// The text it was read from.
    public let text: String

    /// The text it was read from.
    public var description: String { text }

    /// Reads `format_type()` text (`numeric(10,2)`, `character varying(20)[]`, `timestamp(3) with time zone`).
    public init(_ text: String) {
        self.text = text
        var base = Substring(text)
        var depth = 0
        while base.hasSuffix("[]") {
            base = base.dropLast(2)
            depth += 1
        }
        arrayDepth = depth
        // Modifiers: the first parenthesised group (`timestamp(3) with time zone` has it mid-name).
        var name = String(base)
        var mods: [Int] = []
        if let open = base.firstIndex(of: "("), let close = base[open...].firstIndex(of: ")") {
            let inside = base[base.index(after: open)..<close]
            let numbers = inside.split(separator: ",").map { Int(String($0.filter { $0 != " " })) }
            if !numbers.isEmpty, numbers.allSatisfy({ $0 != nil }) {
                mods = numbers.map { $0! }
                name = String(base[..<open]) + String(base[base.index(after: close)...])
            }
        }
        modifiers = mods
        family = Self.family(of: name)
        if case .numeric = family, mods.count == 1 { modifiers = [mods[0], 0] }
    }

    static func family(of name: String) -> Family {
        switch name {
        case "smallint": .smallint
        case "integer": .integer
        case "bigint": .bigint
        case "numeric": .numeric
        case "character varying": .varchar
        case "character", "bpchar": .bpchar
        case "text": .text
        case "timestamp without time zone": .timestamp
        case "timestamp with time zone": .timestamptz
        case "time without time zone": .time
        case "time with time zone": .timetz
        case "interval": .interval(fields: nil)
        case "bit": .bit
        case "bit varying": .varbit
        case "json": .json
        case "jsonb": .jsonb
        case "real": .real
        case "double precision": .double
        default:
            name.hasPrefix("interval ") ? .interval(fields: String(name.dropFirst("interval ".count))) : .other(name)
        }
    }

    /// Whether the type has no modifier limiting its values.
    public var isUnconstrained: Bool { modifiers.isEmpty }

    /// The widest member of this type's family, which holds every member's values with the same
    /// text; nil when the family has none (floats, char(n), other types).
    var familyTop: String? {
        let suffix = String(repeating: "[]", count: arrayDepth)
        let top: String? = switch family {
        case .smallint, .integer, .bigint, .numeric: "numeric"
        case .varchar, .text: "text"
        case .timestamp: "timestamp without time zone"
        case .timestamptz: "timestamp with time zone"
        case .time: "time without time zone"
        case .timetz: "time with time zone"
        case .interval: "interval"
        case .bit, .varbit: "bit varying"
        case .json, .jsonb: "json"
        default: nil
        }
        return top.map { $0 + suffix }
    }
}
