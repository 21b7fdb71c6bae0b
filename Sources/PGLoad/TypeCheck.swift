import RowStream
import TypeRules

/// The check of an existing target's column types against the archived ones (docs/types.md,
/// "Restoring into a different type"): a conversion that could change any value's text is
/// refused unless `--allow-lossy-cast`.
enum TypeCheck {
    /// Each stream column whose target type is not a lossless conversion of its archived type:
    /// (column, archived type, target type).
    static func lossyColumns(_ target: TargetTable, schema: RowStreamSchema) -> [(column: String, archived: String, target: String)] {
        schema.columns.compactMap { column in
            guard let existing = target.columns[column.name] else { return nil }
            let archived = SchemaJoin.archivedType(column)
            if archived == existing.type || TypeRules.isLossless(from: archived, to: existing.baseType) { return nil }
            return (column.name, archived, existing.type)
        }
    }

    /// Throws for the first lossy column (or warns for each, with `allowLossy`).
    static func check(_ target: TargetTable, schema: RowStreamSchema, object: String, allowLossy: Bool, warn: (String) -> Void) throws {
        for lossy in lossyColumns(target, schema: schema) {
            let what = "column \"\(lossy.column)\" of \(target.displayName) is \(lossy.target) but \(object) holds \(lossy.archived) values"
            if allowLossy {
                warn("\(what): converting them can change them (--allow-lossy-cast)")
            } else {
                throw LoadError("\(what): converting them could change them (e.g. round or pad them); "
                                + "give --allow-lossy-cast to convert anyway (docs/types.md)")
            }
        }
    }
}
