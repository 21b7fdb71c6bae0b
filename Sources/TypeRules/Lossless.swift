/// Which type changes keep every value's text (docs/types.md, "Restoring into a different type").
///
/// A conversion is lossless when PostgreSQL prints every value of the archived type, converted to
/// the target type, exactly as it printed it before: `integer` → `bigint`, `varchar(10)` → `text`,
/// `numeric(10,2)` → `numeric(12,2)` or `numeric`. Anything that can round, pad, trim, shift a
/// time zone or change a float's digits is lossy (`numeric(10,1)` → `numeric(10,3)` prints 5.7 as
/// 5.700; `real` → `double precision` prints 1.1 as 1.100000023841858).
public enum TypeRules {
    /// Digits of the largest value of each integer type.
    static func digits(_ family: PGTypeName.Family) -> Int? {
        switch family {
        case .smallint: 5
        case .integer: 10
        case .bigint: 19
        default: nil
        }
    }

    static func rank(_ family: PGTypeName.Family) -> Int? {
        switch family {
        case .smallint: 0
        case .integer: 1
        case .bigint: 2
        default: nil
        }
    }

    /// Whether converting values of `archived` into `target` keeps every value's text.
    public static func isLossless(from archived: String, to target: String) -> Bool {
        isLossless(PGTypeName(archived), PGTypeName(target))
    }

    /// Whether converting values of `a` into `b` keeps every value's text.
    public static func isLossless(_ a: PGTypeName, _ b: PGTypeName) -> Bool {
        if a.text == b.text { return true }
        // Text output of any scalar is its output function's text: casting to text keeps it, but
        // char(n) trims its padding and date/time types print through the session's settings.
        if a.arrayDepth == 0, b.arrayDepth == 0, b.family == .text || (b.family == .varchar && b.isUnconstrained) {
            switch a.family {
            case .bpchar, .timestamp, .timestamptz, .time, .timetz, .interval: break
            default: return true
            }
        }
        guard a.arrayDepth == b.arrayDepth else { return false }
        // A wider limit of the same kind: precision/length may grow, scale must stay.
        func limitGrows(_ i: Int) -> Bool {
            b.isUnconstrained || (!a.isUnconstrained && a.modifiers.count > i && b.modifiers.count > i && b.modifiers[i] >= a.modifiers[i])
        }
        switch (a.family, b.family) {
        case let (x, y) where rank(x) != nil && rank(y) != nil:
            return rank(x)! <= rank(y)!
        case let (x, .numeric) where digits(x) != nil:
            return b.isUnconstrained || (b.modifiers.count == 2 && b.modifiers[1] == 0 && b.modifiers[0] >= digits(x)!)
        case (.numeric, .numeric):
            if b.isUnconstrained { return true }
            guard !a.isUnconstrained, a.modifiers.count == 2, b.modifiers.count == 2 else { return false }
            return b.modifiers[1] == a.modifiers[1] && b.modifiers[0] >= a.modifiers[0]
        case (.varchar, .varchar), (.varbit, .varbit), (.bit, .varbit):
            return limitGrows(0)
        case (.varchar, .text), (.text, .varchar):
            return b.isUnconstrained
        case (.bpchar, .bpchar):
            return b.isUnconstrained
        case (.timestamp, .timestamp), (.timestamptz, .timestamptz), (.time, .time), (.timetz, .timetz):
            return limitGrows(0)
        case let (.interval(x), .interval(y)):
            // Fields restrict what an interval holds; only a plain interval takes them all.
            guard y == nil || x == y else { return false }
            return limitGrows(0)
        case (.jsonb, .json):
            return true
        default:
            return false
        }
    }

    /// The type that holds the values of both `a` and `b` with their text unchanged: one of them
    /// when the other converts into it losslessly, else their family's widest member (mixed
    /// numeric scales → `numeric`, varchar lengths → the longest, `varchar` and `text` → `text`);
    /// nil when none exists (incompatible types).
    public static func join(_ a: String, _ b: String) -> String? {
        let x = PGTypeName(a), y = PGTypeName(b)
        let ab = isLossless(x, y), ba = isLossless(y, x)
        // Both ways (`text` and `character varying`): the same pick whatever the order.
        if ab && ba { return min(a, b) }
        if ab { return b }
        if ba { return a }
        for top in [x.familyTop, y.familyTop].compactMap({ $0 }) {
            let t = PGTypeName(top)
            if isLossless(x, t) && isLossless(y, t) { return top }
        }
        return nil
    }
}
