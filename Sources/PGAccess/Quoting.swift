/// SQL quoting with PostgreSQL's `quote_ident` / `quote_literal` semantics.
public enum SQL {
    /// An identifier, always double-quoted (doubling embedded quotes): `Mixed "Case"` → `"Mixed ""Case"""`.
    public static func identifier(_ name: String) -> String {
        "\"" + name.replacingAll("\"", with: "\"\"") + "\""
    }

    /// A schema-qualified name, both parts quoted.
    public static func qualified(_ schema: String, _ name: String) -> String {
        identifier(schema) + "." + identifier(name)
    }

    /// `col >= 'from'::timestamptz AND col < 'to'::timestamptz` (either side optional; `true` when neither).
    public static func rangeFilter(column: String, from: String?, to: String?) -> String {
        var parts: [String] = []
        if let from { parts.append("\(identifier(column)) >= \(literal(from))::timestamptz") }
        if let to { parts.append("\(identifier(column)) < \(literal(to))::timestamptz") }
        return parts.isEmpty ? "true" : parts.joined(separator: " AND ")
    }

    /// A string literal (standard_conforming_strings=on): quotes doubled; E'' form when it holds a backslash.
    public static func literal(_ text: String) -> String {
        let quoted = text.replacingAll("'", with: "''")
        if text.contains("\\") { return "E'" + quoted.replacingAll("\\", with: "\\\\") + "'" }
        return "'" + quoted + "'"
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        guard contains(target) else { return self }
        var out = ""
        out.reserveCapacity(count + 2)
        for c in self {
            if c == target { out += replacement } else { out.append(c) }
        }
        return out
    }
}
