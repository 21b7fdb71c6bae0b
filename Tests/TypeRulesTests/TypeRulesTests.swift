import RowStream
import Testing
import TypeRules

@Suite("type rules")
struct TypeRulesTests {
    @Test("lossless conversions keep every value's text", arguments: [
        ("smallint", "integer"), ("integer", "bigint"), ("smallint", "bigint"), ("integer", "numeric"), ("bigint", "numeric(19,0)"),
        ("numeric(10,1)", "numeric"), ("numeric(10,2)", "numeric(12,2)"), ("character varying(10)", "character varying(20)"),
        ("character varying(10)", "text"), ("character varying(10)", "character varying"), ("text", "character varying"),
        ("timestamp(3) without time zone", "timestamp without time zone"),
        ("timestamp(3) with time zone", "timestamp(6) with time zone"), ("interval year to month", "interval"),
        ("bit(3)", "bit varying(5)"), ("jsonb", "json"), ("integer[]", "bigint[]"), ("uuid", "text"), ("mood", "text"),
        ("character(5)", "bpchar"), ("numeric(10,2)[]", "numeric[]"),
    ])
    func lossless(_ pair: (String, String)) {
        #expect(TypeRules.isLossless(from: pair.0, to: pair.1), "\(pair.0) → \(pair.1)")
    }

    @Test("lossy conversions are named as such", arguments: [
        ("numeric(10,1)", "numeric(10,3)"), ("numeric(10,3)", "numeric(10,1)"), ("numeric(12,2)", "numeric(10,2)"),
        ("numeric", "numeric(10,2)"), ("bigint", "integer"), ("integer", "smallint"), ("integer", "numeric(5,0)"),
        ("integer", "numeric(12,2)"), ("timestamp with time zone", "timestamp without time zone"),
        ("timestamp without time zone", "timestamp with time zone"), ("double precision", "real"), ("real", "double precision"),
        ("character varying(20)", "character varying(10)"), ("text", "character varying(10)"), ("character(5)", "text"),
        ("character(5)", "character(8)"), ("timestamp without time zone", "timestamp(3) without time zone"),
        ("json", "jsonb"), ("date", "timestamp without time zone"), ("interval", "interval year to month"),
        ("integer[]", "text[]"), ("integer[]", "integer"), ("timestamp with time zone", "text"), ("uuid", "mood"),
    ])
    func lossy(_ pair: (String, String)) {
        #expect(!TypeRules.isLossless(from: pair.0, to: pair.1), "\(pair.0) → \(pair.1)")
    }

    @Test("joins hold both types' values unchanged, whichever comes first")
    func joins() {
        let cases: [(String, String, String?)] = [
            ("numeric(10,1)", "numeric(10,3)", "numeric"), ("numeric(10,2)", "numeric(12,2)", "numeric(12,2)"),
            ("character varying(10)", "character varying(30)", "character varying(30)"), ("character varying(10)", "text", "text"),
            ("text", "character varying", "character varying"), ("smallint", "bigint", "bigint"), ("integer", "numeric(10,2)", "numeric"),
            ("timestamp(3) without time zone", "timestamp(0) without time zone", "timestamp(3) without time zone"),
            ("real", "double precision", nil), ("integer", "uuid", nil), ("date", "timestamp without time zone", nil),
            ("integer[]", "bigint[]", "bigint[]"), ("integer[]", "integer", nil),
        ]
        for (a, b, expected) in cases {
            #expect(TypeRules.join(a, b) == expected, "\(a) ∨ \(b)")
            #expect(TypeRules.join(b, a) == expected, "\(b) ∨ \(a)")
        }
    }

    func column(_ name: String, _ type: String, attnum: Int?, nullable: Bool = true) -> RowStreamSchema.Column {
        RowStreamSchema.Column(name: name, type: type, oid: 0, nullable: nullable, attnum: attnum)
    }

    func version(_ label: String, _ columns: [RowStreamSchema.Column], key: [String] = ["id"]) -> SchemaVersion {
        SchemaVersion(label: label, schema: RowStreamSchema(table: .init(schema: "public", name: "t"), columns: columns, primaryKey: key))
    }

    @Test("versions before and after ALTER COLUMN TYPE and ADD COLUMN join by name, in any order")
    func evolution() throws {
        let before = version("a1", [column("id", "integer", attnum: 1, nullable: false), column("v", "numeric(10,1)", attnum: 2)])
        let after = version("b2", [column("id", "bigint", attnum: 1, nullable: false), column("v", "numeric(10,3)", attnum: 2),
                                   column("added", "text", attnum: 3, nullable: false)])
        for versions in [[before, after], [after, before]] {
            let joined = try SchemaJoin.join(versions)
            #expect(joined.schema.columns.map(\.name) == ["id", "v", "added"])
            #expect(joined.schema.columns.map { SchemaJoin.archivedType($0) } == ["bigint", "numeric", "text"])
            #expect(joined.schema.columns.map(\.nullable) == [false, true, true])
            #expect(joined.schema.primaryKey == ["id"])
            #expect(joined.decisions.contains("column \"v\": numeric(10,1), numeric(10,3) → numeric"))
        }
    }

    @Test("a rename, a dropped column and incompatible types are refused, listing the versions")
    func refusals() {
        let base = version("a1", [column("id", "integer", attnum: 1), column("v", "text", attnum: 2), column("w", "text", attnum: 3)])
        let renamed = version("b2", [column("id", "integer", attnum: 1), column("value", "text", attnum: 2), column("w", "text", attnum: 3)])
        let dropped = version("c3", [column("id", "integer", attnum: 1), column("w", "text", attnum: 3)])
        let changed = version("d4", [column("id", "uuid", attnum: 1), column("v", "text", attnum: 2), column("w", "text", attnum: 3)])
        for (other, reason) in [(renamed, "RENAME"), (dropped, "DROP COLUMN"), (changed, "no type holds them all")] {
            #expect {
                try SchemaJoin.join([base, other])
            } throws: { error in
                let text = "\(error)"
                return text.contains(reason) && text.contains("a1 (") && text.contains("\(other.label) (")
            }
        }
    }

    @Test("the joined definition is the same for every order of the versions")
    func anyOrder() throws {
        let a = version("a", [column("id", "smallint", attnum: 1), column("v", "numeric(10,1)", attnum: 2)])
        let b = version("b", [column("id", "integer", attnum: 1), column("v", "numeric(10,3)", attnum: 2), column("w", "character varying(5)", attnum: 3)])
        let c = version("c", [column("id", "bigint", attnum: 1), column("v", "numeric(12,3)", attnum: 2), column("w", "text", attnum: 3)])
        let orders = [[a, b, c], [a, c, b], [b, a, c], [b, c, a], [c, a, b], [c, b, a]]
        let joined = try orders.map { try SchemaJoin.join($0).schema }
        #expect(Set(joined.map { $0.columns.map { "\($0.name) \(SchemaJoin.archivedType($0))" } }).count == 1)
        #expect(joined[0].columns.map { SchemaJoin.archivedType($0) } == ["bigint", "numeric", "text"])
    }
}
