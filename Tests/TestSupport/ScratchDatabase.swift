import Foundation

/// A fresh database for one test (tests run in parallel), dropped when the object goes away.
public final class ScratchDatabase {
    /// The cluster.
    public let pg: PostgresService
    /// The database's name.
    public let name: String
    /// `PGOPTIONS` for the tools and psql pipelines (session settings), if any.
    public let sessionOptions: String?

    /// Creates a database named `<prefix>_<random>`.
    public init(_ pg: PostgresService, prefix: String = "t", sessionOptions: String? = nil) throws {
        self.pg = pg
        self.sessionOptions = sessionOptions
        name = try pg.createDatabase(prefix: prefix)
    }

    deinit { pg.dropDatabase(name) }

    /// libpq variables that connect a tool as the superuser, with `sessionOptions`.
    public var environment: [String: String] {
        var environment = pg.environment(database: name)
        if let sessionOptions { environment["PGOPTIONS"] = sessionOptions }
        return environment
    }

    /// Runs SQL as the superuser in this database; psql's unaligned, tuples-only output.
    @discardableResult
    public func sql(_ text: String) throws -> String { try pg.psql(text, database: name) }

    /// `sql` without the trailing newline: one value, or lines.
    @discardableResult
    public func value(_ text: String) throws -> String { try sql(text).trimmingCharacters(in: .whitespacesAndNewlines) }

    /// The psql command line for shell pipelines (run it with `environment`).
    public var psql: String { "'\(pg.binDirectory)/psql' -X -q -v ON_ERROR_STOP=1" }

    /// PostgreSQL as the judge: see `PostgresService.rowDifference`.
    public func difference(_ a: String, _ b: String) throws -> [Int] { try pg.rowDifference(a, b, database: name) }
}

extension PostgresService {
    /// [rows of `a` missing from `b`, rows of `b` missing from `a`, rows in `a`, rows in `b`]:
    /// rows compared as their text with EXCEPT ALL, so duplicates count.
    public func rowDifference(_ a: String, _ b: String, database: String) throws -> [Int] {
        try psql("""
            SELECT (SELECT count(*) FROM (SELECT x::text FROM \(a) x EXCEPT ALL SELECT y::text FROM \(b) y) s) || ' ' ||
                   (SELECT count(*) FROM (SELECT y::text FROM \(b) y EXCEPT ALL SELECT x::text FROM \(a) x) s) || ' ' ||
                   (SELECT count(*) FROM \(a)) || ' ' || (SELECT count(*) FROM \(b))
            """, database: database).split(whereSeparator: \.isWhitespace).map { Int($0)! }
    }
}
